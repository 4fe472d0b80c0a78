/**
 * The inference engine: one ONNX session over the quantized base, prefill then incremental decode
 * with the KV cache, LoRA inputs fed on every step (rank 0 when no adapter). Knows nothing of HTTP.
 *
 * @example
 * const engine = await Engine.create(pkg);
 * for await (const ev of engine.generate({ promptIds, maxTokens: 32, sampling: GREEDY })) if (ev.type === "token") out += ev.text;
 */
import { LoraEdgeError } from "../errors.ts";
import { LORA_GROUPS, groupLayout, io, type ModelManifest, type Projection } from "./manifest.ts";
import type { LoraFeeds } from "./lora-feeds.ts";
import type { ModelPackage } from "./model-package.ts";
import { createSession, HeapTensor, initOrt, ort, runSession, type Feed } from "./ort.ts";
import { createSampler, type SamplingConfig } from "./sampling.ts";
import { createTokenizer, type ChatTokenizer } from "./tokenizer.ts";
import { readBaseWeight } from "./base-weights.ts";

/** Keys and values of every layer so far, `[kv_heads, T, head_dim]` each. */
export type KvCache = { length: number; tensors: Record<string, ort.Tensor> };

export type GenerateRequest = {
  promptIds: readonly number[];
  maxTokens: number;
  sampling: SamplingConfig;
  /** Ids that end generation; default: the tokenizer's end-of-sequence ids. */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; never part of the output. */
  stopStrings?: readonly string[];
  lora?: LoraFeeds;
  signal?: AbortSignal;
};

/**
 * A request's LoRA inputs, copied into ORT's heap once and fed by reference on every step
 * (src/runtime/ort.ts). `release()` frees them; call it when the request ends.
 */
export type LoraInputs = { readonly tensors: Record<string, Feed>; readonly dora: boolean; release(): void };

export type FinishReason = "stop" | "length";
export type GenerationEvent =
  | { type: "token"; id: number; text: string }
  /** text held back until the end (a partial character or a possible stop string's start) */
  | { type: "text"; text: string }
  | { type: "done"; finishReason: FinishReason; promptTokens: number; completionTokens: number; prefillMs: number; decodeMs: number };

export class Engine {
  readonly manifest: ModelManifest;
  readonly modelHash: string;
  readonly tokenizer: ChatTokenizer;
  private readonly pkg: ModelPackage;
  private readonly session: ort.InferenceSession;
  private doraSession: Promise<ort.InferenceSession> | undefined;
  /** rank-0 inputs, in the heap for the engine's lifetime */
  private readonly emptyLora: LoraInputs;

  private constructor(pkg: ModelPackage, session: ort.InferenceSession) {
    this.pkg = pkg;
    this.manifest = pkg.manifest;
    this.modelHash = pkg.hash;
    this.session = session;
    this.tokenizer = createTokenizer({ tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: pkg.generationConfig });
    this.emptyLora = { ...this.uploadLora(undefined), release() {} };
  }

  /** Create the session; pass ORT's precompiled wasm Module inside workerd. */
  static async create(pkg: ModelPackage, opts: { wasmModule?: WebAssembly.Module } = {}): Promise<Engine> {
    await initOrt(opts.wasmModule);
    const session = await createSession(pkg.graph, { path: pkg.manifest.files.weights.path, data: pkg.weights });
    return new Engine(pkg, session);
  }

  get contextLength(): number {
    return this.manifest.architecture.max_position_embeddings;
  }

  /** The served base weight of one projection, dequantized, `[in, out]` (for DoRA preparation). */
  baseWeight(layer: number, proj: Projection): Float32Array {
    return readBaseWeight(this.manifest, this.pkg.weights, layer, proj);
  }

  /** An empty cache (P = 0). */
  emptyCache(): KvCache {
    const a = this.manifest.architecture;
    const tensors: Record<string, ort.Tensor> = {};
    for (let l = 0; l < a.num_hidden_layers; l++) {
      tensors[io.pastKey(l)] = new ort.Tensor("float32", new Float32Array(0), [a.num_key_value_heads, 0, a.head_dim]);
      tensors[io.pastValue(l)] = new ort.Tensor("float32", new Float32Array(0), [a.num_key_value_heads, 0, a.head_dim]);
    }
    return { length: 0, tensors };
  }

  /**
   * LoRA feeds → the graph's LoRA inputs (rank 0 where a group has no feed), copied into ORT's heap
   * once per request; every step then feeds them without copying. Release them when done.
   */
  uploadLora(lora: LoraFeeds | undefined): LoraInputs {
    const a = this.manifest.architecture;
    const tensors: Record<string, HeapTensor> = {};
    const release = () => {
      for (const t of Object.values(tensors)) t.dispose();
    };
    try {
      for (let l = 0; l < a.num_hidden_layers; l++) {
        for (const { name } of LORA_GROUPS) {
          const { in: K, out: N } = groupLayout(a, name);
          const feed = lora?.layers[l]?.[name];
          const r = feed?.rank ?? 0;
          if (feed && (feed.A.length !== K * r || feed.B.length !== r * N)) {
            throw new LoraEdgeError(400, "invalid_adapter", `LoRA feed for layer ${l} ${name} has wrong sizes for rank ${r}`);
          }
          tensors[io.loraA(l, name)] = new HeapTensor(new ort.Tensor("float32", feed?.A ?? new Float32Array(0), [K, r]));
          tensors[io.loraB(l, name)] = new HeapTensor(new ort.Tensor("float32", feed?.B ?? new Float32Array(0), [r, N]));
          if (lora?.dora) tensors[io.doraScale(l, name)] = new HeapTensor(new ort.Tensor("float32", feed?.scale ?? new Float32Array(N).fill(1), [N]));
        }
      }
    } catch (e) {
      release();
      throw e;
    }
    return { tensors, dora: lora?.dora ?? false, release };
  }

  private sessionFor(dora: boolean): Promise<ort.InferenceSession> {
    if (!dora) return Promise.resolve(this.session);
    const graph = this.pkg.doraGraph;
    if (!graph) throw new LoraEdgeError(400, "dora_not_supported", "this model package has no DoRA graph; rebuild it with --dora");
    this.doraSession ??= createSession(graph, { path: this.manifest.files.weights.path, data: this.pkg.weights });
    return this.doraSession;
  }

  /**
   * One forward pass over `ids` after `past`; logits of the last `logitsToKeep` positions.
   * Runs are serialised process-wide (src/runtime/ort.ts): ORT's WASM backend runs one call at a time.
   */
  async forward(ids: readonly number[], opts: { past?: KvCache; lora?: LoraFeeds | LoraInputs; logitsToKeep?: number } = {}) {
    const past = opts.past ?? this.emptyCache();
    const keep = opts.logitsToKeep ?? 1;
    // feeds given as plain arrays are uploaded for this one pass
    const lora = !opts.lora ? this.emptyLora : "tensors" in opts.lora ? opts.lora : this.uploadLora(opts.lora);
    try {
      return await this.run(ids, past, keep, lora);
    } finally {
      if (lora !== opts.lora) lora.release();
    }
  }

  private async run(ids: readonly number[], past: KvCache, keep: number, lora: LoraInputs) {
    const feeds: Record<string, Feed> = {
      ...past.tensors,
      ...lora.tensors,
      [io.inputIds]: new ort.Tensor("int64", BigInt64Array.from(ids, (i) => BigInt(i)), [1, ids.length]),
      [io.logitsToKeep]: new ort.Tensor("int64", BigInt64Array.of(BigInt(keep)), [1]),
    };
    const session = await this.sessionFor(lora.dora);
    // a package built without LoRA inputs (benchmarks, bit-identity checks) takes only the rest
    const accepted = inputsOf(session);
    for (const name of Object.keys(feeds)) if (!accepted.has(name)) delete feeds[name];
    const out = await runSession(session, feeds);
    const a = this.manifest.architecture;
    const tensors: Record<string, ort.Tensor> = {};
    for (let l = 0; l < a.num_hidden_layers; l++) {
      tensors[io.pastKey(l)] = out[io.presentKey(l)]!;
      tensors[io.pastValue(l)] = out[io.presentValue(l)]!;
    }
    return { logits: out[io.logits]!.data as Float32Array, present: { length: past.length + ids.length, tensors } };
  }

  /**
   * Generate tokens for a prompt: prefill, then one decode step per token. Yields each token with
   * the text it completes, then one `done` event.
   */
  async *generate(req: GenerateRequest): AsyncGenerator<GenerationEvent> {
    const n = req.promptIds.length;
    if (n === 0) throw new LoraEdgeError(400, "invalid_request", "the prompt has no tokens", { param: "messages" });
    if (n >= this.contextLength) {
      throw new LoraEdgeError(400, "context_length_exceeded", `This model's maximum context length is ${this.contextLength} tokens; the prompt has ${n}.`, { param: "messages" });
    }
    const lora = req.lora ? this.uploadLora(req.lora) : this.emptyLora;
    try {
      yield* this.decode(req, lora);
    } finally {
      lora.release(); // also when the consumer stops early (its return() runs this)
    }
  }

  private async *decode(req: GenerateRequest, lora: LoraInputs): AsyncGenerator<GenerationEvent> {
    const n = req.promptIds.length;
    const maxTokens = Math.min(req.maxTokens, this.contextLength - n);
    const stopIds = new Set(req.stopTokenIds ?? this.tokenizer.eosTokenIds);
    const stops = (req.stopStrings ?? []).filter((s) => s.length > 0);
    const sample = createSampler(req.sampling);
    const detok = this.tokenizer.createDecoderStream({ skipSpecialTokens: true });
    const holdBack = stops.reduce((m, s) => Math.max(m, s.length - 1), 0);

    let pending = ""; // decoded text not yet emitted (may hold the start of a stop string)
    let completion = 0;
    let finishReason: FinishReason = "length";
    const t0 = performance.now();
    let { logits, present } = await this.forward(req.promptIds, { lora });
    const prefillMs = performance.now() - t0;
    const t1 = performance.now();
    while (completion < maxTokens) {
      req.signal?.throwIfAborted();
      const id = sample(logits);
      completion++;
      if (stopIds.has(id)) {
        finishReason = "stop";
        break;
      }
      pending += detok.push(id);
      const hit = firstStop(pending, stops);
      if (hit >= 0) {
        if (hit > 0) yield { type: "token", id, text: pending.slice(0, hit) };
        pending = "";
        finishReason = "stop";
        break;
      }
      const safe = Math.max(0, pending.length - holdBack);
      yield { type: "token", id, text: pending.slice(0, safe) };
      pending = pending.slice(safe);
      if (completion >= maxTokens) break;
      ({ logits, present } = await this.forward([id], { past: present, lora }));
    }
    if (finishReason === "length") {
      pending += detok.flush();
      const hit = firstStop(pending, stops);
      if (hit >= 0) {
        pending = pending.slice(0, hit);
        finishReason = "stop";
      }
      if (pending) yield { type: "text", text: pending };
    }
    yield { type: "done", finishReason, promptTokens: n, completionTokens: completion, prefillMs, decodeMs: performance.now() - t1 };
  }
}

const sessionInputs = new WeakMap<ort.InferenceSession, Set<string>>();
/** A session's input names, as a set computed once (looked up on every decode step). */
function inputsOf(session: ort.InferenceSession): Set<string> {
  let names = sessionInputs.get(session);
  if (!names) sessionInputs.set(session, (names = new Set(session.inputNames)));
  return names;
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
