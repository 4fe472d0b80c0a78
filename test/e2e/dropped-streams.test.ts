/**
 * Clients that vanish mid-stream, over real HTTP: the bundled Worker runs in workerd (miniflare, a
 * real loopback port), a node:http client reads the first SSE chunk of a long completion and then
 * destroys its socket. Whatever the host does, the generation must stop and free its KV cache,
 * its adapter lease and its share of the memory budget. The idle watchdog is set far beyond the
 * test's wait, so what frees memory here is the request's abort signal or a failed enqueue.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundledWorker, type BundledWorker } from "../support/bundled-worker.ts";
import { dropAfterFirstChunk, until, uploadRandomAdapter } from "../support/http-clients.ts";
import type { HfConfig } from "../reference/llama64.ts";
import manifest from "../../models/demo/manifest.json";

const TOKEN = "e2e-token";
let worker: BundledWorker;

type Health = { memory: { in_flight_sequence_bytes: number }; admission: { in_use_bytes: number; running: number; queued: number } };
const health = async (): Promise<Health> => (await fetch(new URL("/healthz", worker.url))).json() as Promise<Health>;

beforeAll(async () => {
  worker = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN, STREAM_IDLE_TIMEOUT_MS: "600000" } });
  const res = await uploadRandomAdapter(worker.url, TOKEN, "dropper", manifest.architecture as unknown as HfConfig, { r: 8, targets: ["q_proj", "v_proj", "down_proj"], seed: 7, std: 0.1 });
  expect(res.status).toBe(201);
}, 300_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("a client that closes its socket mid-stream", () => {
  it("20 dropped streams (base and adapter) free every sequence, lease and budget byte", async () => {
    expect((await health()).memory.in_flight_sequence_bytes).toBe(0);
    for (let i = 0; i < 20; i++) {
      await dropAfterFirstChunk(worker.url, { model: i % 2 ? "dropper" : "base", messages: [{ role: "user", content: `Tell me a long story, number ${i}` }], stream: true, max_tokens: 512, seed: i });
    }
    const freed = await until(async () => {
      const h = await health();
      return h.memory.in_flight_sequence_bytes === 0 && h.admission.in_use_bytes === 0 && h.admission.running === 0;
    }, 20_000);
    expect(await health()).toMatchObject({ memory: { in_flight_sequence_bytes: 0 }, admission: { in_use_bytes: 0, running: 0, queued: 0 } });
    expect(freed).toBe(true);
    // and the Worker still answers in full
    const res = await fetch(new URL("/v1/chat/completions", worker.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "dropper", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
  });
});
