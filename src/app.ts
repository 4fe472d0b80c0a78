/**
 * `createApp(deps)`: the Hono app with every route wired to the parts it needs. The Worker entry
 * (src/index.ts) passes real bindings; tests and a Node host can pass others.
 *
 * @example export default { fetch: createApp(deps).fetch }
 */
import { Hono } from "hono";
import { LoraEdgeError } from "./errors.ts";
import type { AppDeps, AppEnv } from "./deps.ts";
import { chatRoutes } from "./routes/chat.ts";
import { errorResponse } from "./routes/errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { modelRoutes } from "./routes/models.ts";
import { adapterRoutes } from "./routes/adapters.ts";
import { domainRoutes } from "./routes/domains.ts";
import { routeRoutes } from "./routes/route.ts";
import { modelPackageRoutes } from "./routes/model-package.ts";
import { adapterFeedRoutes } from "./routes/adapter-feeds.ts";

export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("deps", deps);
    await next();
  });
  app.route("/", healthRoutes);
  app.route("/", modelRoutes);
  app.route("/", chatRoutes);
  app.route("/", adapterRoutes);
  app.route("/", domainRoutes);
  app.route("/", routeRoutes);
  app.route("/", modelPackageRoutes);
  app.route("/", adapterFeedRoutes);
  app.notFound(() => {
    throw new LoraEdgeError(404, "not_found", "no such route");
  });
  app.onError(errorResponse);
  return app;
}
