/**
 * Continuous batching inside the Worker, over real HTTP: the bundled Worker runs in workerd
 * (miniflare, a real loopback port) with `BATCHING = "true"`, and concurrent streamed chats with
 * different adapters share its decode passes. workerd binds timers and promises to the request that
 * made them, so the batcher has no loop of its own: each request's reader runs the turn it needs
 * (src/runtime/batcher.ts). What must hold: every stream equals its run alone, passes really carried
 * several rows, streams that end early (a dropped socket, a short `max_tokens`) leave the others
 * running to the end, and every sequence, lease and budget byte is freed afterwards.
 *
 * The demo package is int8: batched, activations are quantized per token, so a row's logits do not
 * depend on its batch mates beyond float rounding (test/unit/engine-batching.test.ts), and a stream
 * alone is a batch of one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundledWorker, type BundledWorker } from "../support/bundled-worker.ts";
import { dropAfterFirstChunk, until, uploadRandomAdapter } from "../support/http-clients.ts";
import type { ProjectionName } from "../reference/hf-checkpoint.ts";
import type { HfConfig } from "../reference/llama64.ts";
import manifest from "../../models/demo/manifest.json";

const TOKEN = "e2e-token";
const ADAPTERS = ["b0", "b1", "b2", "b3", "b4", "b5"];
let worker: BundledWorker;

type Health = {
  batching: boolean;
  batch?: { steps: number; rows_stepped: number; widest_step: number };
  memory: { in_flight_sequence_bytes: number };
  admission: { in_use_bytes: number; running: number; queued: number };
};
const health = async (): Promise<Health> => (await fetch(new URL("/healthz", worker.url))).json() as Promise<Health>;

/** Eight requests: six adapters of different ranks and targets, and the base twice. */
const body = (i: number, maxTokens = 24) => ({
  model: i < ADAPTERS.length ? ADAPTERS[i] : "base",
  messages: [{ role: "user", content: `Where is my order number ${1000 + 37 * i}?` }],
  stream: true,
  max_tokens: maxTokens,
  temperature: 0, // greedy: batched logits equal a lone row's within float rounding (1e-5), which may move a sample, not an argmax
});

/** A streamed chat's text (every delta joined) and finish reason. */
async function streamed(req: object): Promise<{ text: string; finish: string | null }> {
  const res = await fetch(new URL("/v1/chat/completions", worker.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(req) });
  expect(res.status).toBe(200);
  let text = "";
  let finish: string | null = null;
  for (const line of (await res.text()).split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta: { content?: string }; finish_reason: string | null }>; error?: { message: string } };
    if (chunk.error) throw new Error(`the stream ended with an error: ${chunk.error.message}`);
    const choice = chunk.choices?.[0];
    if (!choice) continue; // the usage chunk
    text += choice.delta.content ?? "";
    finish = choice.finish_reason ?? finish;
  }
  return { text, finish };
}

const idle = (h: Health) => h.memory.in_flight_sequence_bytes === 0 && h.admission.in_use_bytes === 0 && h.admission.running === 0 && h.admission.queued === 0;

beforeAll(async () => {
  worker = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN, BATCHING: "true", STREAM_IDLE_TIMEOUT_MS: "600000" } });
  const arch = manifest.architecture as unknown as HfConfig;
  const targets: ProjectionName[][] = [["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "o_proj"], ["gate_proj", "up_proj", "down_proj"], ["down_proj"], ["q_proj", "v_proj", "down_proj"], ["o_proj", "up_proj"]];
  for (const [i, name] of ADAPTERS.entries()) {
    const r = 2 + 2 * (i % 4);
    const res = await uploadRandomAdapter(worker.url, TOKEN, name, arch, { r, targets: targets[i]!, seed: 300 + i, std: 0.1 });
    expect(res.status).toBe(201);
  }
}, 300_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("the Worker with BATCHING = true", () => {
  it("8 concurrent streams (6 adapters, 2 base) share decode passes and each equals its run alone", async () => {
    expect(await health()).toMatchObject({ batching: true, batch: { steps: 0 } });
    const alone = [];
    for (let i = 0; i < 8; i++) alone.push(await streamed(body(i)));
    const before = (await health()).batch!;
    expect(before.widest_step).toBe(1); // one at a time: every pass carried one row
    const together = await Promise.all(Array.from({ length: 8 }, (_, i) => streamed(body(i))));
    expect(together).toEqual(alone);
    expect(new Set(alone.map((a) => a.text)).size).toBeGreaterThan(4);
    const after = (await health()).batch!;
    expect(after.widest_step).toBeGreaterThanOrEqual(4);
    // fewer passes than rows: the eight streams' ~190 decoded tokens went through shared passes
    expect(after.rows_stepped - before.rows_stepped).toBeGreaterThan(2 * (after.steps - before.steps));
    expect(idle(await health())).toBe(true);
  });

  it("streams that end early (dropped sockets, short max_tokens) leave the others to finish as they would alone, and free everything", async () => {
    const alone = await Promise.all([0, 2, 6].map(async (i) => [i, await streamed(body(i, 40))] as const));
    const dropped = [1, 3, 7].map((i) => dropAfterFirstChunk(worker.url, body(i, 400)));
    const short = streamed(body(4, 3));
    const together = await Promise.all([0, 2, 6].map((i) => streamed(body(i, 40))));
    await Promise.all(dropped);
    expect((await short).finish).toBe("length");
    expect(together).toEqual(alone.map(([, a]) => a));
    const freed = await until(async () => idle(await health()), 20_000);
    expect(await health()).toMatchObject({ memory: { in_flight_sequence_bytes: 0 }, admission: { in_use_bytes: 0, running: 0, queued: 0 } });
    expect(freed).toBe(true);
  });
});
