/** `GET /healthz`: the isolate or process is up and the model loads; its engine backend and resident memory. */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";

export const healthRoutes = new Hono<AppEnv>().get("/healthz", async (c) => {
  const engine = await c.get("deps").engine();
  const memory = engine.memory();
  return c.json({
    status: "ok",
    model: engine.manifest.name,
    model_hash: engine.modelHash,
    quantization: engine.manifest.quantization.weights,
    engine: memory.backend,
    memory: { resident_bytes: memory.residentBytes, in_flight_sequence_bytes: memory.sequenceBytes },
  });
});
