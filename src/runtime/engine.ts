/**
 * The inference engine: one ONNX session over the quantized base, prefill then incremental decode
 * with the KV cache, LoRA inputs fed on every step (rank 0 when no adapter). A `Sequence` keeps its
 * KV cache and LoRA inputs resident in the backend from step to step, so a step copies only the new
 * token in and its logits out. Where the graph runs is the backend's business (src/runtime/backend.ts:
 * WASM by default, onnxruntime-node in the Node host). Knows nothing of HTTP.
 *
 * Created with `batching: true`, a package that has the batched graph (`model.batch.onnx`) and a backend that can read tensors
 * back, `generate()` runs through the `Batcher` (src/runtime/batcher.ts): concurrent requests, each
 * with its own adapter, share one forward pass per decode step. DoRA requests run one by one on the
 * DoRA graph. Either way a caller sees the same events.
 *
 * @example
 * const engine = await Engine.create(pkg);
 * for await (const ev of engine.generate({ promptIds, maxTokens: 32, sampling: GREEDY })) if (ev.type === "token") out += ev.text;
 */
import { LoraEdgeError } from "../errors.ts";
import type { BackendSession, EngineBackend, HostTensor, ResidentTensor } from "./backend.ts";
import { LORA_GROUPS, cacheDims, computesInFloat32, groupLayout, io, type ModelManifest, type Projection } from "./manifest.ts";
import type { LoraFeeds } from "./lora-feeds.ts";
import type { ModelPackage } from "./model-package.ts";
import { createSampler, type SamplingConfig } from "./sampling.ts";
import { createTokenizer, type ChatTokenizer } from "./tokenizer.ts";
import { readBaseWeight } from "./base-weights.ts";
import { Batcher } from "./batcher.ts";

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
  /**
   * Prefill at most this many prompt tokens per forward pass (default: the whole prompt in one).
   * Attention's scratch memory grows with the square of a pass's length: chunks bound ORT's heap.
   */
  prefillChunk?: number;
};

/**
 * A request's LoRA inputs, uploaded to the backend once and fed by reference on every step.
 * `release()` frees them; call it when the request ends.
 */
export type LoraInputs = { readonly tensors: Record<string, ResidentTensor>; readonly dora: boolean; release(): void };

export type FinishReason = "stop" | "length";
export type GenerationEvent =
  | { type: "token"; id: number; text: string }
  /** text held back until the end (a partial character or a possible stop string's start) */
  | { type: "text"; text: string }
  | { type: "done"; finishReason: FinishReason; promptTokens: number; completionTokens: number; prefillMs: number; decodeMs: number };

export class Engine {
  readonly manifest: ModelManifest;
  readonly modelHash: string;
  /** what adapters are bound to (`baseIdentity`): equal for packages of one source that are lossless */
  readonly baseId: string;
  readonly tokenizer: ChatTokenizer;
  readonly backend: EngineBackend;
  /** continuous batching of `generate()` calls, when the package and backend allow it */
  readonly batcher: Batcher | undefined;
  private session: Promise<BackendSession> | undefined;
  private readonly doraGraph: Uint8Array | undefined;
  private readonly plainGraph: Uint8Array;
  /** the weights file: held, or read again when needed (DoRA), so the caller can let its copy go */
  private readonly weights: Uint8Array | (() => Promise<Uint8Array>);
  private doraSession: Promise<BackendSession> | undefined;
  /** rank-0 inputs and an empty KV cache, resident for the engine's lifetime */
  private readonly emptyLora: LoraInputs;
  private readonly cache: CacheLayout;

  private constructor(pkg: ModelPackage, backend: EngineBackend, sessions: { plain?: BackendSession; batch?: BackendSession }, rereadWeights: (() => Promise<Uint8Array>) | undefined) {
    this.backend = backend;
    this.plainGraph = pkg.graph;
    this.doraGraph = pkg.doraGraph;
    this.weights = rereadWeights ?? pkg.weights;
    this.manifest = pkg.manifest;
    this.modelHash = pkg.hash;
    this.baseId = pkg.baseId;
    if (sessions.plain) this.session = Promise.resolve(sessions.plain);
    this.batcher = sessions.batch ? new Batcher(backend, Promise.resolve(sessions.batch), pkg.manifest.architecture) : undefined;
    this.tokenizer = createTokenizer({ tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: pkg.generationConfig });
    this.emptyLora = { ...this.uploadLora(undefined), release() {} };
    const a = this.manifest.architecture;
    const pairs = Array.from({ length: a.num_hidden_layers }, (_, l): Array<[string, string]> => [
      [io.pastKey(l), io.presentKey(l)],
      [io.pastValue(l), io.presentValue(l)],
    ]).flat();
    const none = () => backend.upload({ type: "float32", data: new Float32Array(0), dims: cacheDims(a, 0) });
    this.cache = { pairs, presents: new Set(pairs.map(([, present]) => present)), empty: Object.fromEntries(pairs.map(([past]) => [past, none()])) };
  }

  /** Whether an engine of this package on this backend can batch: the batched graph, and a backend that reads and writes tensors in place. */
  static canBatch(pkg: ModelPackage, backend: EngineBackend): boolean {
    return pkg.batchGraph !== undefined && backend.read !== undefined && backend.write !== undefined;
  }

  /**
   * Whether a host batches this package by default: where it can and where batching changes no
   * text, i.e. the linear layers compute on float32 activations (fp32, int4 with its blocks
   * dequantized). int8 activations are quantized per token batched but per tensor one by one, so a
   * batched request's tokens could differ from its one-by-one run; those hosts batch only when asked.
   */
  static batchesByDefault(pkg: ModelPackage, backend: EngineBackend): boolean {
    return Engine.canBatch(pkg, backend) && computesInFloat32(pkg.manifest.quantization);
  }

  /**
   * Create the session on `backend` (default: onnxruntime-web's WASM build, loaded on first use).
   * With `rereadWeights` the engine keeps no reference to `pkg.weights` (the backend has its own
   * copy) and reads the file again only when it needs the weights: for DoRA preparation and the
   * DoRA session.
   *
   * `batching` (default off; the package needs the batched graph and the backend `read` and `write`):
   * `generate()` batches concurrent requests, and the plain graph's session (for `forward`,
   * `sequence` and nothing else) is created only when first needed — a second copy of the weights
   * in the backend, so an engine used through `forward`/`sequence` should not batch. Opt-in, so that
   * no caller holds both sessions by accident (bench:peers's memory lanes did: `computesInFloat32`
   * is how the Node host decides).
   */
  static async create(pkg: ModelPackage, opts: { backend?: EngineBackend; rereadWeights?: () => Promise<Uint8Array>; batching?: boolean } = {}): Promise<Engine> {
    const backend = opts.backend ?? (await (await import("./wasm-backend.ts")).wasmBackend());
    const weights = { path: pkg.manifest.files.weights.path, data: pkg.weights };
    if (opts.batching && !Engine.canBatch(pkg, backend)) throw new Error("batching needs a package with model.batch.onnx and a backend that can read and write tensors in place");
    if (opts.batching) return new Engine(pkg, backend, { batch: await backend.createSession(pkg.batchGraph!, weights) }, opts.rereadWeights);
    return new Engine(pkg, backend, { plain: await backend.createSession(pkg.graph, weights) }, opts.rereadWeights);
  }

  /**
   * The backend's resident memory (ORT's wasm heap, which grows and never shrinks; the process
   * for native backends), the part live sequences hold (KV caches, LoRA inputs), and the package
   * bytes the engine holds in JS (the DoRA graph; the weights unless created with `rereadWeights`).
   */
  memory(): { backend: string; residentBytes: number; sequenceBytes: number; packageBytes: number } {
    const held = (this.doraGraph?.byteLength ?? 0) + (this.weights instanceof Uint8Array ? this.weights.byteLength : 0);
    const { residentBytes, tensorBytes } = this.backend.memory();
    return { backend: this.backend.name, residentBytes, sequenceBytes: tensorBytes, packageBytes: held };
  }

  get contextLength(): number {
    return this.manifest.architecture.max_position_embeddings;
  }

  /** The served base weights, dequantized, `[in, out]` per projection (for DoRA preparation). */
  async baseWeights(): Promise<(layer: number, proj: Projection) => Float32Array> {
    const bytes = await this.weightsFile();
    return (layer, proj) => readBaseWeight(this.manifest, bytes, layer, proj);
  }

  private weightsFile(): Promise<Uint8Array> {
    return this.weights instanceof Uint8Array ? Promise.resolve(this.weights) : this.weights();
  }

  /**
   * LoRA feeds → the graph's LoRA inputs (rank 0 where a group has no feed), uploaded to the
   * backend once per request; every step then feeds them without copying. Release them when done.
   */
  uploadLora(lora: LoraFeeds | undefined): LoraInputs {
    const a = this.manifest.architecture;
    const upload = (data: Float32Array, dims: number[]) => this.backend.upload({ type: "float32", data, dims });
    const tensors: Record<string, ResidentTensor> = {};
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
          tensors[io.loraA(l, name)] = upload(feed?.A ?? new Float32Array(0), [K, r]);
          tensors[io.loraB(l, name)] = upload(feed?.B ?? new Float32Array(0), [r, N]);
          if (lora?.dora) tensors[io.doraScale(l, name)] = upload(feed?.scale ?? new Float32Array(N).fill(1), [N]);
        }
      }
    } catch (e) {
      release();
      throw e;
    }
    return { tensors, dora: lora?.dora ?? false, release };
  }

  /**
   * Start a sequence (an empty KV cache) with these LoRA feeds, or none (rank 0). The sequence
   * uploads the feeds once and frees them, and its cache, on `release()`.
   */
  sequence(lora?: LoraFeeds): Sequence {
    const inputs = lora ? this.uploadLora(lora) : this.emptyLora;
    try {
      return new Sequence(this.sessionFor(inputs.dora), inputs, this.cache);
    } catch (e) {
      inputs.release();
      throw e;
    }
  }

  /** One forward pass over `ids` from an empty cache; logits of the last `logitsToKeep` positions. */
  async forward(ids: readonly number[], opts: { lora?: LoraFeeds; logitsToKeep?: number } = {}): Promise<{ logits: Float32Array }> {
    const seq = this.sequence(opts.lora);
    try {
      return { logits: await seq.step(ids, opts.logitsToKeep) };
    } finally {
      seq.release();
    }
  }

  private sessionFor(dora: boolean): Promise<BackendSession> {
    if (!dora) return (this.session ??= this.weightsFile().then((data) => this.backend.createSession(this.plainGraph, { path: this.manifest.files.weights.path, data })));
    const graph = this.doraGraph;
    if (!graph) throw new LoraEdgeError(400, "dora_not_supported", "this model package has no DoRA graph; rebuild it with --dora");
    this.doraSession ??= this.weightsFile()
      .then((data) => this.backend.createSession(graph, { path: this.manifest.files.weights.path, data }))
      .catch((err) => {
        this.doraSession = undefined; // the next DoRA request tries again
        throw err;
      });
    return this.doraSession;
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
    const maxTokens = Math.min(req.maxTokens, this.contextLength - n);
    const stopIds = new Set(req.stopTokenIds ?? this.tokenizer.eosTokenIds);
    const sample = createSampler(req.sampling);
    const timing = { prefillMs: 0 };
    if (this.batcher && !req.lora?.dora) {
      req.signal?.throwIfAborted();
      const seq = this.batcher.add({ promptIds: req.promptIds, lora: req.lora, sample, maxTokens, stopIds, signal: req.signal, prefillChunk: req.prefillChunk ?? n });
      const tokens = async function* () {
        for (let id; (id = await seq.next()) !== undefined; ) {
          timing.prefillMs = seq.prefillMs;
          yield id;
        }
      };
      try {
        yield* this.decode(req, tokens(), maxTokens, stopIds, timing, () => seq.leave());
      } finally {
        seq.leave(); // also when the consumer stops early (its return() runs this)
      }
      return;
    }
    const seq = this.sequence(req.lora);
    try {
      yield* this.decode(req, this.soloTokens(req, seq, sample, maxTokens, stopIds, timing), maxTokens, stopIds, timing, () => seq.release());
    } finally {
      seq.release(); // also when the consumer stops early (its return() runs this)
    }
  }

  /** One sequence alone: prefill in chunks, then sample and step one token at a time. */
  private async *soloTokens(req: GenerateRequest, seq: Sequence, sample: (logits: Float32Array) => number, maxTokens: number, stopIds: ReadonlySet<number>, timing: { prefillMs: number }): AsyncGenerator<number> {
    const n = req.promptIds.length;
    const t0 = performance.now();
    const chunk = req.prefillChunk ?? n;
    let logits!: Float32Array;
    for (let i = 0; i < n; i += chunk) {
      req.signal?.throwIfAborted();
      logits = await seq.step(req.promptIds.slice(i, i + chunk));
    }
    timing.prefillMs = performance.now() - t0;
    for (let completion = 0; completion < maxTokens; ) {
      req.signal?.throwIfAborted();
      assertFiniteLogits(logits, completion);
      const id = sample(logits);
      yield id;
      if (stopIds.has(id) || ++completion >= maxTokens) return;
      logits = await seq.step([id]);
    }
  }

  /** Token ids → events: stop ids and strings, streamed text held back where a stop string may start. */
  private async *decode(
    req: GenerateRequest,
    tokens: AsyncIterable<number>,
    maxTokens: number,
    stopIds: ReadonlySet<number>,
    timing: { prefillMs: number },
    release: () => void,
  ): AsyncGenerator<GenerationEvent> {
    const n = req.promptIds.length;
    const stops = (req.stopStrings ?? []).filter((s) => s.length > 0);
    const detok = this.tokenizer.createDecoderStream({ skipSpecialTokens: true });
    const holdBack = stops.reduce((m, s) => Math.max(m, s.length - 1), 0);

    let pending = ""; // decoded text not yet emitted (may hold the start of a stop string)
    let completion = 0;
    let finishReason: FinishReason = "length";
    let t1 = performance.now();
    for await (const id of tokens) {
      if (completion === 0) t1 = performance.now();
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
    const decodeMs = performance.now() - t1;
    release(); // before the last event: a consumer may stop reading once it has it
    yield { type: "done", finishReason, promptTokens: n, completionTokens: completion, prefillMs: timing.prefillMs, decodeMs };
  }
}

/** The KV cache's graph I/O: `[past, present]` name pairs of every layer, and an empty cache, resident. */
type CacheLayout = { pairs: ReadonlyArray<readonly [string, string]>; presents: ReadonlySet<string>; empty: Record<string, ResidentTensor> };

/**
 * One sequence being decoded. Its KV cache stays resident in the backend (each step's `present`
 * outputs are kept there and fed back as the next step's `past`), as do its LoRA inputs;
 * `release()` frees both. Steps run one after another (each awaits the previous).
 */
export class Sequence {
  /** tokens in the KV cache */
  length = 0;
  private readonly session: Promise<BackendSession>;
  private readonly lora: LoraInputs;
  private readonly cache: CacheLayout;
  private past: Record<string, ResidentTensor>;
  private released = false;

  constructor(session: Promise<BackendSession>, lora: LoraInputs, cache: CacheLayout) {
    this.session = session;
    this.lora = lora;
    this.cache = cache;
    this.past = cache.empty;
  }

  /** Run `ids` after the cache; returns the logits of the last `logitsToKeep` positions, `[k, vocab]`. */
  async step(ids: readonly number[], logitsToKeep = 1): Promise<Float32Array> {
    if (this.released) throw new Error("this sequence was released");
    const session = await this.session;
    const feeds: Record<string, HostTensor | ResidentTensor> = {
      ...this.past,
      ...this.lora.tensors,
      [io.inputIds]: { type: "int64", data: BigInt64Array.from(ids, (i) => BigInt(i)), dims: [1, ids.length] },
      [io.logitsToKeep]: { type: "int64", data: BigInt64Array.of(BigInt(logitsToKeep)), dims: [1] },
    };
    // a package built without LoRA inputs (benchmarks, bit-identity checks) takes only the rest
    for (const name of Object.keys(feeds)) if (!session.inputNames.has(name)) delete feeds[name];
    const { outputs, kept } = await session.run(feeds, this.cache.presents);
    if (this.released) {
      // released while this step ran (the request ended): free what it produced
      for (const t of Object.values(kept)) t.dispose();
      throw new Error("this sequence was released");
    }
    this.disposePast();
    this.past = Object.fromEntries(this.cache.pairs.map(([past, present]) => [past, kept[present]!]));
    this.length += ids.length;
    return outputs[io.logits]!.data as Float32Array;
  }

  /** Free the KV cache and the LoRA inputs. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.disposePast();
    this.lora.release();
  }

  private disposePast() {
    if (this.past !== this.cache.empty) for (const t of Object.values(this.past)) t.dispose();
  }
}

/** An overflow in the forward pass (an adapter's huge factors) must end generation loudly, never be sampled. */
function assertFiniteLogits(logits: Float32Array, position: number): void {
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i]!)) {
      throw new LoraEdgeError(500, "non_finite_logits", `the model's output became ${logits[i]} at completion token ${position}: the forward pass overflowed float32 (an adapter's or composition's factors are too large); no answer was produced`);
    }
  }
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
