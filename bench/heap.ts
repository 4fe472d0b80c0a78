/**
 * lora-edge's run path against onnxruntime-web's own (issues 2 and 3): the same int8 graph and
 * weights, decoded side by side by
 * - **stock**: `InferenceSession.run` with JS tensors, which copies every input into the wasm heap
 *   and every output out of it on every step (the KV cache and the adapter's feeds included);
 * - **heap**: `Engine.sequence`, whose KV cache and LoRA inputs stay in the heap between steps
 *   (src/runtime/ort.ts `HeapTensor`);
 * at rank 0 and with one r=16 adapter on all seven projections, after a short and a long prompt.
 *
 * `npx tsx bench/heap.ts [--preset demo] [--json]`
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { assembleModelPackage } from "../src/builder/package.ts";
import { randomLlamaWeights } from "../src/builder/random-weights.ts";
import { buildTokenizer } from "../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../src/builder/corpus.ts";
import { PRESETS } from "../src/builder/presets.ts";
import { Engine } from "../src/runtime/engine.ts";
import { loadModelPackage, type ModelPackage } from "../src/runtime/model-package.ts";
import { LORA_GROUPS, cacheDims, groupLayout, io, type Architecture } from "../src/runtime/manifest.ts";
import type { LoraFeeds } from "../src/runtime/lora-feeds.ts";
import { createSession, ort } from "../src/runtime/ort.ts";
import { randomFeeds } from "../test/support/feeds.ts";
import { median } from "./stats.ts";

const STEPS = 48;

type Stepper = { step(id: number): Promise<void>; release(): void };

/** onnxruntime-web's own path: JS tensors in, JS tensors out, every step (what the engine did before). */
async function stockStepper(session: ort.InferenceSession, arch: Architecture, prompt: number[], lora: LoraFeeds | undefined): Promise<Stepper> {
  const fixed: Record<string, ort.Tensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const { name } of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(arch, name);
      const feed = lora?.layers[l]?.[name];
      const r = feed?.rank ?? 0;
      fixed[io.loraA(l, name)] = new ort.Tensor("float32", feed?.A ?? new Float32Array(0), [K, r]);
      fixed[io.loraB(l, name)] = new ort.Tensor("float32", feed?.B ?? new Float32Array(0), [r, N]);
    }
  }
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    past[io.pastKey(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
    past[io.pastValue(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
  }
  const run = async (ids: number[]) => {
    const out = await session.run({
      ...past,
      ...fixed,
      [io.inputIds]: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
      [io.logitsToKeep]: new ort.Tensor("int64", BigInt64Array.of(1n), [1]),
    });
    past = {};
    for (let l = 0; l < arch.num_hidden_layers; l++) {
      past[io.pastKey(l)] = out[io.presentKey(l)]!;
      past[io.pastValue(l)] = out[io.presentValue(l)]!;
    }
  };
  await run(prompt);
  return { step: (id) => run([id]), release() {} };
}

async function heapStepper(engine: Engine, prompt: number[], lora: LoraFeeds | undefined): Promise<Stepper> {
  const seq = engine.sequence(lora);
  await seq.step(prompt);
  return { step: async (id) => void (await seq.step([id])), release: () => seq.release() };
}

/** Median decode step of each lane; lanes take steps in turn (rotating who goes first). */
async function timeSteppers(lanes: Stepper[], steps = STEPS): Promise<number[]> {
  const times = lanes.map(() => [] as number[]);
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < lanes.length; j++) {
      const k = (i + j) % lanes.length;
      const t = performance.now();
      await lanes[k]!.step((i * 7) % 200);
      times[k]!.push(performance.now() - t);
    }
  }
  for (const l of lanes) l.release();
  return times.map((t) => median(t.slice(4)));
}

async function demoPackage(arch: Architecture): Promise<ModelPackage> {
  const tok = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: arch.vocab_size });
  const { files } = assembleModelPackage({
    name: "bench", arch, weights: randomLlamaWeights(arch, 1), format: "int8", source: { kind: "random", seed: 1 },
    tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig, generationConfig: {},
  });
  return loadModelPackage(async (p) => files[p]!, { verify: false });
}

export async function benchHeap(arch: Architecture, contexts = [64, 896]) {
  const pkg = await demoPackage(arch);
  const engine = await Engine.create(pkg);
  const stock = await createSession(pkg.graph, { path: pkg.manifest.files.weights.path, data: pkg.weights });
  const adapter = randomFeeds(arch, 16);
  const rows = [];
  for (const context of contexts) {
    const prompt = Array.from({ length: context }, (_, i) => (i * 13) % (arch.vocab_size - 10));
    const lanes = [
      await stockStepper(stock, arch, prompt, undefined),
      await stockStepper(stock, arch, prompt, adapter),
      await heapStepper(engine, prompt, undefined),
      await heapStepper(engine, prompt, adapter),
    ];
    const [stockR0, stockR16, heapR0, heapR16] = (await timeSteppers(lanes)) as [number, number, number, number];
    rows.push({
      context,
      stock_decode_ms_rank0: stockR0,
      stock_decode_ms_r16: stockR16,
      heap_decode_ms_rank0: heapR0,
      heap_decode_ms_r16: heapR16,
      stock_r16_overhead: stockR16 / stockR0 - 1,
      heap_r16_overhead: heapR16 / heapR0 - 1,
      heap_speedup_rank0: stockR0 / heapR0,
      heap_speedup_r16: stockR16 / heapR16,
    });
  }
  return { format: "int8", steps: STEPS, rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { preset: { type: "string", default: "demo" }, json: { type: "boolean" } } });
  const arch = { family: "llama", model_type: "llama", ...PRESETS[values.preset!]! } as Architecture;
  const result = await benchHeap(arch);
  console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
}
