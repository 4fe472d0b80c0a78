/**
 * `createApp(deps)`: the Hono app with every route wired to the parts it needs. The Worker entry
 * (src/index.ts) passes real bindings; tests and a Node host can pass others.
 *
 * @example export default { fetch: createApp(deps).fetch }
 */
import { Hono } from "hono";
import { LoraEdgeError } from "./errors.ts";
import type { Engine } from "./runtime/engine.ts";
import type { LoraFeeds } from "./runtime/lora-feeds.ts";
import type { Limits } from "./pipeline/limits.ts";
import type { ChatRequest } from "./routes/openai-schema.ts";
import { chatRoutes } from "./routes/chat.ts";
import { errorResponse } from "./routes/errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { modelRoutes } from "./routes/models.ts";
import { adapterRoutes } from "./routes/adapters.ts";
import { domainRoutes } from "./routes/domains.ts";
import { routeRoutes } from "./routes/route.ts";
import type { AdapterRegistry } from "./registry/types.ts";
import type { UploadBase } from "./registry/upload.ts";
import type { RouteRequest, RouteResult } from "./pipeline/routing.ts";

/** What routing and adapter resolution decided for one request. */
export type AdapterSelection = {
  reason: "base" | "explicit" | "classifier" | "fallback";
  domain?: string;
  confidence?: number;
  /** `name@version`, or a `+`-joined list for compositions */
  adapterLabel?: string;
  lora?: LoraFeeds;
  loadMs: number;
  /** Called when generation ends, so the adapter cache may evict what this request used. */
  release?: () => void;
};

export type ModelCard = { id: string; object: "model"; created: number; owned_by: string; parent: string | null; root: string };

export type AppDeps = {
  /** The engine, created once per isolate on first use. */
  engine(): Promise<Engine>;
  limits: Limits;
  /** Route a chat request to adapters (or none). */
  selectAdapters(req: ChatRequest, messages: { role: string; content: string }[], engine: Engine): Promise<AdapterSelection>;
  /** Adapters to list in `/v1/models` besides the base. */
  listAdapterModels(): Promise<ModelCard[]>;
  /** The registry and admin API (`/v1/adapters`, `/v1/domains`); absent = those routes answer 404. */
  admin?: AdminDeps;
  /** The routing decision without generating (`POST /v1/route`); absent = 404. */
  route?(req: RouteRequest): Promise<RouteResult>;
};

/** What the admin API needs. */
export type AdminDeps = {
  registry: AdapterRegistry;
  /** The `ADMIN_TOKEN` secret; undefined refuses every admin call (401). */
  token: string | undefined;
  /** The served base, for validating and preparing uploads (no inference session needed). */
  base(): Promise<UploadBase>;
  /** Refuse a domain's examples before anything is stored (the router learns them). */
  checkDomainExamples(domain: string, examples: string[]): Promise<void>;
};

export type AppEnv = { Variables: { deps: AppDeps } };

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
  app.notFound(() => {
    throw new LoraEdgeError(404, "not_found", "no such route");
  });
  app.onError(errorResponse);
  return app;
}
