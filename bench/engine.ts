/**
 * Engine benchmark (issue 2): for one architecture, in onnxruntime-web's WASM backend on one thread
 * (as in a Worker), per weight format: prefill and decode tokens/s, weight bytes, resident memory;
 * and decode with a rank-16 adapter on all seven projections against rank 0 and against the graph
 * with no LoRA side paths at all.
 *
 * Each format runs in its own child process so resident memory is that format's alone.
 * `npx tsx bench/engine.ts [--preset demo] [--json]`
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { assembleModelPackage } from "../src/builder/package.ts";
import { randomLlamaWeights } from "../src/builder/random-weights.ts";
import { buildTokenizer } from "../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../src/builder/corpus.ts";
import { Engine } from "../src/runtime/engine.ts";
import { loadModelPackage } from "../src/runtime/model-package.ts";
import type { Architecture, WeightFormat } from "../src/runtime/manifest.ts";
import type { LoraFeeds } from "../src/runtime/lora-feeds.ts";
import { randomFeeds } from "../test/support/feeds.ts";
import { wasmHeapBytes } from "../src/runtime/ort.ts";
import { PRESETS } from "../src/builder/presets.ts";
import { median } from "./stats.ts";

export type EngineFigures = {
  format: string;
  weight_bytes: number;
  /** ORT's wasm heap after session creation, and after the benchmark's prefill and decode */
  wasm_heap_bytes_session: number;
  wasm_heap_bytes_after_decode: number;
  session_ms: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  decode_ms_rank0: number;
  decode_ms_rank16: number;
  decode_ms_no_lora_graph: number;
};

const PROMPT = 64;
const STEPS = 96;

export type Lane = { engine: Engine; lora?: LoraFeeds };

/**
 * Decode timings of several configurations measured side by side: every lane prefills the same
 * prompt, then the lanes take decode steps in turn (rotating who goes first), so drift on a shared
 * machine, cache warmth and KV length hit all lanes alike. Median step time per lane, as wall time
 * and as this process's CPU time (user + system): on a loaded machine a step is preempted at
 * random, and CPU time is what a single-threaded step costs without the waits.
 */
export async function timeLanes(lanes: Lane[], prompt: number[], steps = STEPS) {
  const state = await Promise.all(
    lanes.map(async ({ engine, lora }) => {
      const seq = engine.sequence(lora);
      const t0 = performance.now();
      await seq.step(prompt);
      return { seq, prefillMs: performance.now() - t0, times: [] as number[], cpu: [] as number[] };
    }),
  );
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < state.length; j++) {
      const lane = state[(i + j) % state.length]!;
      const t = performance.now();
      const c = process.cpuUsage();
      await lane.seq.step([(i * 7) % 200]);
      const { user, system } = process.cpuUsage(c);
      lane.times.push(performance.now() - t);
      lane.cpu.push((user + system) / 1000);
    }
  }
  for (const l of state) l.seq.release();
  return state.map((l) => ({ prefillMs: l.prefillMs, stepMs: median(l.times.slice(4)), stepCpuMs: median(l.cpu.slice(4)) }));
}

async function packageFor(arch: Architecture, format: WeightFormat, lora: boolean) {
  const tok = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: arch.vocab_size });
  const { files } = assembleModelPackage({
    name: "bench", arch, weights: randomLlamaWeights(arch, 1), format, source: { kind: "random", seed: 1 },
    tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig, generationConfig: {}, ...(lora ? {} : { lora: false }),
  });
  return loadModelPackage(async (p) => files[p]!, { verify: false });
}

/** Runs inside the child: one format, fresh process. */
async function child(arch: Architecture, format: WeightFormat): Promise<EngineFigures> {
  const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 13) % (arch.vocab_size - 10));
  const pkg = await packageFor(arch, format, true);
  const t0 = performance.now();
  const engine = await Engine.create(pkg);
  const sessionMs = performance.now() - t0;
  const heapSession = wasmHeapBytes();
  const bareEngine = await Engine.create(await packageFor(arch, format, false));
  // prefill: median of 5 after one warm-up run (the first run sizes ORT's arena), then decode side by side
  await engine.forward(prompt);
  const prefills: number[] = [];
  for (let i = 0; i < 5; i++) prefills.push((await timeLanes([{ engine }], prompt, 0))[0]!.prefillMs);
  const [r0, r16, bare] = await timeLanes([{ engine }, { engine, lora: randomFeeds(arch, 16) }, { engine: bareEngine }], prompt);
  const heapAfter = wasmHeapBytes();
  return {
    format,
    weight_bytes: pkg.weights.byteLength,
    wasm_heap_bytes_session: heapSession,
    wasm_heap_bytes_after_decode: heapAfter,
    session_ms: sessionMs,
    prefill_tokens_per_s: PROMPT / (median(prefills) / 1000),
    decode_tokens_per_s: 1000 / r0!.stepMs,
    decode_ms_rank0: r0!.stepMs,
    decode_ms_rank16: r16!.stepMs,
    decode_ms_no_lora_graph: bare!.stepMs,
  };
}

/**
 * Serving adapters on the default format (issue 3): decode at rank 0, one r=16 adapter, a weighted
 * composition of three; the hot switch (compose + feed tensors) against the naive switch (merge
 * into the weights and create a new session); the merged model's decode; bytes of 50 adapters.
 */
async function childServing(arch: Architecture, format: WeightFormat) {
  const { randomPeftFiles } = await import("./adapters.ts");
  const { loadPeftAdapter } = await import("../src/adapters/load-peft.ts");
  const { prepareAdapter, serializePreparedAdapter } = await import("../src/adapters/prepare.ts");
  const { limitsSchema } = await import("../src/pipeline/limits.ts");
  const { composeAdapters } = await import("../src/adapters/compose.ts");
  const { unpackModelPackage } = await import("../src/builder/unpack.ts");
  const { mergeAdapters } = await import("../src/builder/merge.ts");
  const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 13) % (arch.vocab_size - 10));
  const pkg = await packageFor(arch, format, true);
  // as the Worker creates it: the package's weights are let go once ORT has them (reread for DoRA only)
  const engine = await Engine.create(pkg, { rereadWeights: async () => pkg.weights });
  const heap = wasmHeapBytes();
  const pefts = [1, 2, 3].map((seed) => loadPeftAdapter(randomPeftFiles(arch, 16, seed), arch));
  const prepared = pefts.map((p) => prepareAdapter(p, arch));
  const [a, b, c] = prepared as [typeof prepared[0], typeof prepared[0], typeof prepared[0]];
  const single = composeAdapters(arch, [{ adapter: a, weight: 1 }]);
  const three = composeAdapters(arch, [{ adapter: a, weight: 0.5 }, { adapter: b, weight: 0.3 }, { adapter: c, weight: 0.2 }]);
  const r8 = composeAdapters(arch, [{ adapter: prepareAdapter(loadPeftAdapter(randomPeftFiles(arch, 8, 4), arch), arch), weight: 1 }]);
  const [r0, r16, r48, r8lane] = await timeLanes([{ engine }, { engine, lora: single }, { engine, lora: three }, { engine, lora: r8 }], prompt);
  const rows = { decode_ms_rank0: r0!.stepMs, decode_ms_r16: r16!.stepMs, decode_ms_three_r16: r48!.stepMs, decode_ms_r8: r8lane!.stepMs };
  const heapAfterDecode = wasmHeapBytes();
  // 50 adapters: stored forms in the warm tier plus a full hot tier (the Worker's defaults)
  const storedBytes = serializePreparedAdapter(a, arch, pefts[0]).byteLength;
  const cache50 = 50 * storedBytes + limitsSchema.parse({}).ADAPTER_HOT_BYTES;
  // hot switch: what a request with a cached adapter does before its first step (compose, copy its feeds into ORT's heap)
  const switches: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    const inputs = engine.uploadLora(composeAdapters(arch, [{ adapter: i % 2 ? a : b, weight: 1 }]));
    switches.push(performance.now() - t);
    inputs.release();
  }
  // naive switch: merge the adapter into the weights, rebuild the package and its session
  const t0 = performance.now();
  const base = unpackModelPackage(pkg);
  const { files } = assembleModelPackage({
    name: "merged", arch: base.arch, weights: mergeAdapters(base.arch, base.weights, [{ adapter: a, weight: 1 }]), format, lora: false,
    source: { kind: "merged", base: "bench", base_hash: pkg.hash, adapters: [] }, tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: {},
  });
  const merged = await Engine.create(await loadModelPackage(async (p) => files[p]!, { verify: false }));
  const naiveMs = performance.now() - t0;
  const [mergedLane, baseLane] = await timeLanes([{ engine: merged }, { engine }], prompt);
  const mergedDecode = mergedLane!.stepMs;
  return {
    ...rows,
    decode_tokens_per_s_rank0: 1000 / rows.decode_ms_rank0,
    decode_tokens_per_s_r16: 1000 / rows.decode_ms_r16,
    decode_tokens_per_s_three_r16: 1000 / rows.decode_ms_three_r16,
    decode_tokens_per_s_merged: 1000 / mergedDecode,
    merged_over_rank0_decode_speed: baseLane!.stepMs / mergedDecode,
    r16_overhead: rows.decode_ms_r16 / rows.decode_ms_rank0 - 1,
    three_r16_overhead: rows.decode_ms_three_r16 / rows.decode_ms_rank0 - 1,
    r8_overhead: rows.decode_ms_r8 / rows.decode_ms_rank0 - 1,
    hot_switch_ms: median(switches),
    naive_switch_ms: naiveMs,
    naive_over_hot_switch: naiveMs / median(switches),
    adapter_bytes_r16: a.bytes,
    stored_bytes_r16: storedBytes,
    cache_50_adapters_bytes: cache50,
    base_wasm_heap_bytes: heapAfterDecode,
    base_package_bytes: engine.memory().packageBytes,
    fits_128mb_isolate_50_adapters: Number(cache50 + heapAfterDecode + engine.memory().packageBytes < 128 * 2 ** 20),
  };
}

/** All formats, side by side, each in a fresh process. */
export function benchEngine(preset = "demo", formats: WeightFormat[] = ["fp32", "int8", "int4"]) {
  const self = fileURLToPath(import.meta.url);
  const rows = formats.map((format) => {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", self, "--child", format, "--preset", preset], { encoding: "utf8", maxBuffer: 1 << 24 });
    return JSON.parse(out.trim().split("\n").pop()!) as EngineFigures;
  });
  const serving = JSON.parse(
    execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", self, "--child", "serving", "--preset", preset], { encoding: "utf8", maxBuffer: 1 << 24 }).trim().split("\n").pop()!,
  ) as Record<string, number>;
  const fp32 = rows.find((r) => r.format === "fp32");
  const int8 = rows.find((r) => r.format === "int8");
  return {
    preset,
    architecture: PRESETS[preset],
    rows,
    serving_int8: serving,
    ratios: fp32 && int8 ? {
      int8_decode_speed_vs_fp32: int8.decode_tokens_per_s / fp32.decode_tokens_per_s,
      int8_weight_bytes_vs_fp32: int8.weight_bytes / fp32.weight_bytes,
      int8_wasm_heap_vs_fp32: int8.wasm_heap_bytes_session / fp32.wasm_heap_bytes_session,
      int8_rank16_overhead: int8.decode_ms_rank16 / int8.decode_ms_rank0 - 1,
      int8_rank0_side_path_overhead: int8.decode_ms_rank0 / int8.decode_ms_no_lora_graph - 1,
    } : {},
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { child: { type: "string" }, preset: { type: "string", default: "demo" }, json: { type: "boolean" }, formats: { type: "string" } }, allowPositionals: true });
  const arch = { family: "llama", model_type: "llama", ...PRESETS[values.preset!]! } as Architecture;
  if (values.child === "serving") {
    console.log(JSON.stringify(await childServing(arch, "int8")));
  } else if (values.child) {
    console.log(JSON.stringify(await child(arch, values.child as WeightFormat)));
  } else {
    const result = benchEngine(values.preset, values.formats ? (values.formats.split(",") as WeightFormat[]) : undefined);
    console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  }
}
