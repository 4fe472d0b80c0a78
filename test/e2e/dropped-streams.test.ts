/**
 * Clients that vanish mid-stream, over real HTTP: the bundled Worker runs in workerd (miniflare, a
 * real loopback port), a node:http client reads the first SSE chunk of a long completion and then
 * destroys its socket. Whatever the host does, the generation must stop and free its KV cache,
 * its adapter lease and its share of the memory budget. The idle watchdog is set far beyond the
 * test's wait, so what frees memory here is the request's abort signal or a failed enqueue.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundledWorker, type BundledWorker } from "../support/bundled-worker.ts";
import { peftConfig, randomPeftTensors, writeSafetensors } from "../reference/hf-checkpoint.ts";
import type { HfConfig } from "../reference/llama64.ts";
import { multipart } from "../../tools/cli.ts";
import manifest from "../../models/demo/manifest.json";

const TOKEN = "e2e-token";
let worker: BundledWorker;

type Health = { memory: { in_flight_sequence_bytes: number }; admission: { in_use_bytes: number; running: number; queued: number } };
const health = async (): Promise<Health> => (await fetch(new URL("/healthz", worker.url))).json() as Promise<Health>;

/** POST a streamed chat, read until the first `data:` chunk arrives, then destroy the socket. */
function dropAfterFirstChunk(body: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(new URL("/v1/chat/completions", worker.url), { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      res.once("data", (chunk: Buffer) => {
        if (!chunk.toString().startsWith("data: ")) return reject(new Error(`unexpected first chunk ${chunk}`));
        req.destroy(); // the client goes away: socket closed mid-stream
        resolve();
      });
    });
    req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
    req.end(data);
  });
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
}

beforeAll(async () => {
  worker = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN, STREAM_IDLE_TIMEOUT_MS: "600000" } });
  const arch = manifest.architecture as unknown as HfConfig;
  const tensors = randomPeftTensors(arch, { r: 8, targets: ["q_proj", "v_proj", "down_proj"], seed: 7, std: 0.1 });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F16" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  const config = new TextEncoder().encode(JSON.stringify(peftConfig({ r: 8, lora_alpha: 16, target_modules: ["q_proj", "v_proj", "down_proj"] })));
  const { body, type } = multipart({ "adapter_config.json": config, "adapter_model.safetensors": weights });
  const res = await fetch(new URL("/v1/adapters/dropper", worker.url), { method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": type }, body: body as BodyInit });
  expect(res.status).toBe(201);
}, 300_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("a client that closes its socket mid-stream", () => {
  it("20 dropped streams (base and adapter) free every sequence, lease and budget byte", async () => {
    expect((await health()).memory.in_flight_sequence_bytes).toBe(0);
    for (let i = 0; i < 20; i++) {
      await dropAfterFirstChunk({ model: i % 2 ? "dropper" : "base", messages: [{ role: "user", content: `Tell me a long story, number ${i}` }], stream: true, max_tokens: 512, seed: i });
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
