/**
 * The engines `npm run bench:peers` races, each behind one small interface (`Lane`): prefill a
 * prompt, then one decode step at a time, greedy, so that lanes can take turns step by step in one
 * process. Every step computes the next token's logits and picks the argmax; none is skipped.
 *
 * - lora-edge's `Engine` on onnxruntime-web WASM or onnxruntime-node, optionally with an adapter;
 * - `@huggingface/transformers` (transformers.js) on its own export of the model
 *   (bench/peers/export_transformersjs.py), on onnxruntime-web WASM, one thread: the same
 *   onnxruntime-web build as ours, handed to transformers.js through its documented hook
 *   `globalThis[Symbol.for("onnxruntime")]` (in Node it would otherwise pick onnxruntime-node). A step
 *   is transformers.js's own generation step — `prepare_inputs_for_generation`, `forward`,
 *   `_update_model_kwargs_for_generation`, as its `generate()` loop calls them — with an argmax in
 *   place of its logits processors and sampler;
 * - llama.cpp through `node-llama-cpp` (bench/peers/package.json, installed apart from the main
 *   dependencies) on the GGUF itself, CPU only: a step is one `controlledEvaluate` of one token with
 *   `generateNext` (logits of that token, greedy pick).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Engine } from "../../src/runtime/engine.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { ort } from "../../src/runtime/ort.ts";

export type Lane = {
  name: string;
  /** run the prompt, return the greedy next token */
  prefill(ids: readonly number[]): Promise<number>;
  /** run one token after the cache, return the greedy next token */
  step(id: number): Promise<number>;
  release(): Promise<void>;
};

export function argmax(x: ArrayLike<number>, from = 0, to = x.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (x[i]! > x[best]!) best = i;
  return best - from;
}

/** A lane on lora-edge's engine: one `Sequence` per prompt, an adapter's feeds if given. */
export function engineLane(name: string, engine: Engine, lora?: LoraFeeds): Lane {
  let seq: ReturnType<Engine["sequence"]> | undefined;
  return {
    name,
    async prefill(ids) {
      seq?.release();
      seq = engine.sequence(lora);
      return argmax(await seq.step(ids));
    },
    step: async (id) => argmax(await seq!.step([id])),
    release: async () => seq?.release(),
  };
}

/** transformers.js's file suffix per dtype (its `DEFAULT_DTYPE_SUFFIX_MAPPING`). */
export const TRANSFORMERSJS_FILES = { fp32: "model.onnx", q8: "model_quantized.onnx", q4: "model_q4.onnx" } as const;
export type TransformersJsDtype = keyof typeof TRANSFORMERSJS_FILES;

// the internals of transformers.js's generation loop that a step uses (not in its public types)
type TjsTensor = { dims: number[]; data: Float32Array | BigInt64Array };
type TjsModel = {
  prepare_inputs_for_generation(all: bigint[][], inputs: Record<string, unknown>, config: unknown): Record<string, unknown>;
  forward(inputs: Record<string, unknown>): Promise<{ logits: TjsTensor }>;
  _update_model_kwargs_for_generation(o: { generated_input_ids: bigint[][]; outputs: unknown; model_inputs: Record<string, unknown>; is_encoder_decoder: boolean }): Record<string, unknown>;
  generation_config: unknown;
  dispose(): Promise<unknown>;
};

/**
 * transformers.js on onnxruntime-web (the module lora-edge's WASM backend initialised: one thread).
 * `dir` holds transformers.js's layout: config.json, tokenizer files, onnx/<file per dtype>.
 */
export async function transformersJsLane(name: string, dir: string, dtype: TransformersJsDtype): Promise<Lane> {
  // In Node, transformers.js hands the runtime a model *path*, which onnxruntime-web would fetch as a
  // URL: this adapter reads the file instead and changes nothing else (same module, options, env).
  const create = (src: string | Uint8Array, opts?: ort.InferenceSession.SessionOptions) => ort.InferenceSession.create(typeof src === "string" ? new Uint8Array(readFileSync(src)) : src, opts ?? {});
  (globalThis as Record<symbol, unknown>)[Symbol.for("onnxruntime")] = { ...ort, InferenceSession: { create } };
  const tjs = await import("@huggingface/transformers");
  tjs.env.useWasmCache = false; // it would fetch ORT's wasm files from a CDN to cache them; ORT is already loaded
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = dirname(dir) + "/";
  // with an onnxruntime handed over, transformers.js lists no devices of its own: "auto" takes the
  // execution providers given here, onnxruntime-web's WASM one
  const model = (await tjs.AutoModelForCausalLM.from_pretrained(basename(dir), { dtype, device: "auto", session_options: { executionProviders: ["wasm"] }, local_files_only: true })) as unknown as TjsModel;
  if (ort.env.wasm.numThreads !== 1) throw new Error(`transformers.js changed onnxruntime-web's threads to ${ort.env.wasm.numThreads}`);
  let all: bigint[][] = [[]];
  let inputs: Record<string, unknown> = {};
  let last: { logits: TjsTensor } | undefined;
  const pick = (out: { logits: TjsTensor }) => {
    const [, n, v] = out.logits.dims as [number, number, number];
    return argmax(out.logits.data as Float32Array, (n - 1) * v, n * v);
  };
  const run = async () => {
    inputs = model.prepare_inputs_for_generation(all, inputs, model.generation_config);
    last = await model.forward(inputs);
    return pick(last);
  };
  const dispose = async () => {
    const past = inputs.past_key_values as { dispose?: () => Promise<void> } | undefined;
    await past?.dispose?.();
  };
  return {
    name,
    async prefill(ids) {
      await dispose();
      all = [ids.map(BigInt)];
      inputs = { input_ids: new tjs.Tensor("int64", BigInt64Array.from(all[0]!), [1, ids.length]), attention_mask: new tjs.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]) };
      return run();
    },
    async step(id) {
      const next = [[BigInt(id)]];
      all[0]!.push(next[0]![0]!);
      inputs = model._update_model_kwargs_for_generation({ generated_input_ids: next, outputs: last, model_inputs: inputs, is_encoder_decoder: false });
      return run();
    },
    async release() {
      await dispose();
      await model.dispose();
    },
  };
}

/** Where `npm ci --prefix bench/peers` puts node-llama-cpp. */
const LLAMA_CPP = fileURLToPath(new URL("./node_modules/node-llama-cpp/dist/index.js", import.meta.url));
export const llamaCppInstalled = () => existsSync(LLAMA_CPP);

// the part of node-llama-cpp's API a lane uses (it is installed apart, so not typed from here)
type LlamaToken = number;
type LlamaSequence = { controlledEvaluate(input: Array<LlamaToken | [LlamaToken, { generateNext: { token: true; options: { temperature: number } } }]>): Promise<Array<{ next?: { token?: LlamaToken } } | undefined>>; clearHistory(): Promise<void> };
type LlamaContext = { getSequence(): LlamaSequence; dispose(): Promise<void> };
export type LlamaModel = { createContext(o: { contextSize: number; threads: { ideal: number; min: number }; sequences: number; batchSize?: number }): Promise<LlamaContext>; dispose(): Promise<void> };

/** The GGUF loaded by llama.cpp, CPU only, from node-llama-cpp's prebuilt binary (never built or downloaded). */
export async function loadLlamaCpp(gguf: string): Promise<LlamaModel> {
  if (!llamaCppInstalled()) throw new Error("node-llama-cpp is not installed: npm ci --prefix bench/peers");
  const { getLlama } = (await import(pathToFileURL(LLAMA_CPP).href)) as { getLlama(o: object): Promise<{ loadModel(o: object): Promise<LlamaModel> }> };
  const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, logLevel: "error", maxThreads: 0 });
  return llama.loadModel({ modelPath: gguf, gpuLayers: 0, useMmap: true });
}

/** A llama.cpp lane with its own context (KV cache of `contextSize` tokens) on `threads` threads. */
export async function llamaCppLane(name: string, model: LlamaModel, threads: number, contextSize: number): Promise<Lane> {
  const context = await model.createContext({ contextSize, threads: { ideal: threads, min: threads }, sequences: 1 });
  const seq = context.getSequence();
  const greedy = { generateNext: { token: true as const, options: { temperature: 0 } } };
  const next = (out: Array<{ next?: { token?: LlamaToken } } | undefined>) => {
    const t = out.at(-1)?.next?.token;
    if (t === undefined) throw new Error("llama.cpp returned no token");
    return t;
  };
  return {
    name,
    async prefill(ids) {
      await seq.clearHistory();
      return next(await seq.controlledEvaluate(ids.map((id, i) => (i === ids.length - 1 ? [id, greedy] : id))));
    },
    step: async (id) => next(await seq.controlledEvaluate([[id, greedy]])),
    release: () => context.dispose(),
  };
}

/** The transformers.js export for a model dir, if made (bench/peers/export_transformersjs.py). */
export function transformersJsDir(root: string, name: string): string | undefined {
  const dir = join(root, name);
  return existsSync(join(dir, "onnx", TRANSFORMERSJS_FILES.fp32)) ? dir : undefined;
}
