/** `GET /healthz`: the isolate is up and the model loads. */
import { Hono } from "hono";
import type { AppEnv } from "../app.ts";

export const healthRoutes = new Hono<AppEnv>().get("/healthz", async (c) => {
  const engine = await c.get("deps").engine();
  return c.json({ status: "ok", model: engine.manifest.name, model_hash: engine.modelHash, quantization: engine.manifest.quantization.weights });
});
