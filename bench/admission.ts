/**
 * `npm run bench:admission [-- --json] [-- --rounds N]`: 32 concurrent mixed chat requests against
 * the bundled Worker in workerd (miniflare's `dispatchFetch`): short and near-full-context
 * prompts, base and two r=16 adapters, streamed and not. Run side by side, interleaved, on two
 * Workers in this one process: the default admission budget (wrangler.toml) and a baseline whose
 * budget and queue are unbounded (what lora-edge did before admission control). Reports per side:
 * peak wasm heap (polled from `/healthz` during the burst) against the budget, requests served /
 * waited in the queue / refused with 429, p50/p99 latency of the served ones, and the ratios.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { peftConfig, randomPeftTensors, writeSafetensors, PROJECTIONS } from "../test/reference/hf-checkpoint.ts";
import type { HfConfig } from "../test/reference/llama64.ts";
import { startBundledWorker, type BundledWorker } from "../test/support/bundled-worker.ts";
import { multipart } from "../tools/cli.ts";
import { quantile } from "./stats.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TOKEN = "bench-token";
const MiB = 2 ** 20;
const log = (msg: string) => process.stderr.write(`bench:admission: ${msg}\n`);
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

type Health = { memory: { wasm_heap_bytes: number; in_flight_sequence_bytes: number }; admission: { budget_bytes: number; totals: { admitted: number; waited: number; refused: number } } };
type Side = { name: string; worker: BundledWorker; longPrompt: string };
type Burst = { served: number; waited: number; refused: number; other: number; latencies: number[]; peakHeap: number; budget: number };

async function health(w: BundledWorker): Promise<Health> {
  return (await w.mf.dispatchFetch(new URL("/healthz", w.url))).json() as Promise<Health>;
}

async function uploadAdapter(w: BundledWorker, arch: HfConfig, name: string, seed: number): Promise<void> {
  const tensors = randomPeftTensors(arch, { r: 16, targets: PROJECTIONS, seed, std: 0.1 });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F16" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  const config = new TextEncoder().encode(JSON.stringify(peftConfig({ r: 16, lora_alpha: 32, target_modules: [...PROJECTIONS] })));
  const { body, type } = multipart({ "adapter_config.json": config, "adapter_model.safetensors": weights });
  const res = await w.mf.dispatchFetch(new URL(`/v1/adapters/${name}`, w.url), { method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": type }, body: body as never });
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
}

/** A prompt whose chat-templated length is close to `target` tokens (measured through the Worker's own usage counts). */
async function promptOfTokens(w: BundledWorker, target: number): Promise<string> {
  const unit = "my parcel never arrived and the refund is late. ";
  const tokens = async (k: number) => {
    const res = await chatRequest(w, { model: "base", messages: [{ role: "user", content: unit.repeat(k) }], max_tokens: 1 });
    return ((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
  };
  const [t1, t2] = [await tokens(1), await tokens(11)];
  const perUnit = (t2 - t1) / 10;
  return unit.repeat(Math.max(1, Math.floor(1 + (target - t1) / perUnit)));
}

function chatRequest(w: BundledWorker, body: object) {
  return w.mf.dispatchFetch(new URL("/v1/chat/completions", w.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** The 32 requests: every combination of short/long × base/adapter a/adapter b … × streamed or not, in a fixed shuffled order. */
function mixedRequests(longPrompt: string): object[] {
  const out: object[] = [];
  for (let i = 0; i < 32; i++) {
    const long = i % 2 === 1;
    const model = ["base", "bench-a", "bench-b", "base"][i % 4]!;
    out.push({
      model,
      messages: [{ role: "user", content: long ? longPrompt : `Question ${i}: where is my order?` }],
      max_tokens: long ? 48 : 32,
      stream: i % 3 === 0,
      seed: i,
    });
  }
  return out;
}

/** Fire all requests at once; read each to its end; poll `/healthz` for the heap meanwhile. */
async function burst(side: Side): Promise<Burst> {
  const before = (await health(side.worker)).admission.totals;
  let peakHeap = 0;
  let running = true;
  const poll = (async () => {
    while (running) {
      peakHeap = Math.max(peakHeap, (await health(side.worker).catch(() => undefined))?.memory.wasm_heap_bytes ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const errors: string[] = [];
  const results = await Promise.all(
    mixedRequests(side.longPrompt).map(async (body) => {
      const t0 = performance.now();
      try {
        const res = await chatRequest(side.worker, body);
        const text = await res.text();
        const ms = performance.now() - t0;
        const complete = res.status === 200 && ((body as { stream: boolean }).stream ? text.trimEnd().endsWith("data: [DONE]") : "usage" in JSON.parse(text));
        if (res.status !== 200 && res.status !== 429) errors.push(`${res.status} ${text.slice(0, 200)}`);
        return { status: res.status, ms, complete };
      } catch (err) {
        errors.push(`${String(err)} (${String((err as Error).cause ?? "")})`);
        return { status: -1, ms: performance.now() - t0, complete: false };
      }
    }),
  ).finally(() => (running = false));
  await poll;
  if (errors.length) log(`${errors.length} requests failed, first: ${errors[0]}`);
  const after = await health(side.worker);
  peakHeap = Math.max(peakHeap, after.memory.wasm_heap_bytes);
  const served = results.filter((r) => r.status === 200 && r.complete);
  return {
    served: served.length,
    waited: after.admission.totals.waited - before.waited,
    refused: results.filter((r) => r.status === 429).length,
    other: results.length - served.length - results.filter((r) => r.status === 429).length,
    latencies: served.map((r) => r.ms),
    peakHeap,
    budget: after.admission.budget_bytes,
  };
}

/** @example const figures = await benchAdmission({ rounds: 2 }); // { budgeted: { peak_wasm_heap_mib: 70, … }, unbounded: { … }, … } */
export async function benchAdmission(options: { rounds?: number } = {}): Promise<Record<string, unknown>> {
  const rounds = options.rounds ?? 2;
  const arch = JSON.parse(readFileSync(join(ROOT, "models/demo/manifest.json"), "utf8")).architecture as HfConfig;
  log("bundling and starting two Workers (default budget; unbounded baseline) …");
  const budgeted = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN } });
  const unbounded = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN, MEMORY_BUDGET_BYTES: String(2 ** 40), ADMISSION_QUEUE: "1000000" } });
  try {
    const sides: Side[] = [];
    for (const [name, worker] of [["budgeted", budgeted], ["unbounded", unbounded]] as const) {
      for (const [i, a] of ["bench-a", "bench-b"].entries()) await uploadAdapter(worker, arch, a, 500 + i);
      sides.push({ name, worker, longPrompt: await promptOfTokens(worker, arch.max_position_embeddings - 48 - 16) });
    }
    const all = new Map<string, Burst[]>(sides.map((s) => [s.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        log(`round ${r + 1}/${rounds}: 32 concurrent requests on the ${side.name} Worker …`);
        all.get(side.name)!.push(await burst(side));
      }
    }
    const summary = (bursts: Burst[]) => {
      const lat = bursts.flatMap((b) => b.latencies);
      const sum = (k: "served" | "waited" | "refused" | "other") => bursts.reduce((n, b) => n + b[k], 0);
      return {
        requests: bursts.length * 32,
        served: sum("served"),
        waited_in_queue: sum("waited"),
        refused_429: sum("refused"),
        other_status: sum("other"),
        peak_wasm_heap_mib: round(Math.max(...bursts.map((b) => b.peakHeap)) / MiB),
        budget_mib: round(bursts[0]!.budget / MiB, 0),
        latency_p50_ms: round(quantile(lat, 0.5), 0),
        latency_p99_ms: round(quantile(lat, 0.99), 0),
      };
    };
    const b = summary(all.get("budgeted")!);
    const u = summary(all.get("unbounded")!);
    return {
      rounds,
      long_prompt_tokens: arch.max_position_embeddings - 48 - 16,
      budgeted: b,
      unbounded: { ...u, budget_mib: "unbounded" },
      peak_heap_ratio_budgeted_to_unbounded: round(b.peak_wasm_heap_mib / u.peak_wasm_heap_mib, 3),
      p50_ratio_budgeted_to_unbounded: round(b.latency_p50_ms / u.latency_p50_ms, 3),
      p99_ratio_budgeted_to_unbounded: round(b.latency_p99_ms / u.latency_p99_ms, 3),
    };
  } finally {
    await budgeted.dispose();
    await unbounded.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, rounds: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(
      "Usage: npm run bench:admission [-- --json] [-- --rounds N]\n\n32 concurrent mixed chat requests (short / near-full-context, base / adapters, streamed / not) against\nthe bundled Worker with its default memory budget and an unbounded baseline, interleaved: peak wasm heap,\nserved / queued / refused, p50/p99 latency. Prints JSON (compact with --json).",
    );
  } else {
    const figures = await benchAdmission(values.rounds ? { rounds: Number(values.rounds) } : {});
    console.log(values.json ? JSON.stringify(figures) : JSON.stringify(figures, null, 2));
  }
}
