/** `GET /healthz`: the isolate or process is up and the model loads; its engine backend, whether it batches concurrent requests (and how much it did), resident memory and generation budget. */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { publicCors } from "./cors.ts";

export const healthRoutes = new Hono<AppEnv>().use("/healthz", publicCors).get("/healthz", async (c) => {
  const { engine: getEngine, admission } = c.get("deps");
  const engine = await getEngine();
  const budget = admission.stats(); // first: it frees what idle streams held
  const memory = engine.memory();
  return c.json({
    status: "ok",
    model: engine.manifest.name,
    model_hash: engine.modelHash,
    base_id: engine.baseId,
    quantization: engine.manifest.quantization.weights,
    engine: memory.backend,
    batching: engine.batcher !== undefined,
    // how much batching happened: decode passes, rows they stepped in all, the widest pass
    ...(engine.batcher ? { batch: { steps: engine.batcher.stats.steps, rows_stepped: engine.batcher.stats.rowsStepped, widest_step: engine.batcher.stats.widestStep } } : {}),
    memory: { resident_bytes: memory.residentBytes, in_flight_sequence_bytes: memory.sequenceBytes },
    admission: { budget_bytes: budget.budgetBytes, in_use_bytes: budget.inUseBytes, running: budget.running, queued: budget.queued, max_queue: budget.maxQueue, totals: budget.totals },
  });
});
