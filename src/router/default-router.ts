/**
 * The router the Worker ships with: models/router/router.json, bundled as a JSON module (wrangler
 * and vite both inline it), validated and decoded once per isolate on first use.
 */
import routerArtifact from "../../models/router/router.json";
import { loadRouter } from "./artifact.ts";
import type { Router } from "./router.ts";

let cached: Router | undefined;

/**
 * The bundled router, loaded on first call (~ms) and shared afterwards.
 *
 * @example routeMessages(defaultRouter(), body.messages, { model: body.model })
 */
export function defaultRouter(): Router {
  cached ??= loadRouter(routerArtifact);
  return cached;
}
