/**
 * The engine backend seam: where the decoder graph runs. `Engine` (src/runtime/engine.ts) owns
 * everything that does not depend on it — tokenizer, prefill/decode loop, sampling, stop strings,
 * events — and asks a backend for five things: sessions from a model package's graph and weights,
 * tensors uploaded once and fed by reference (a request's LoRA inputs), a run that leaves chosen
 * outputs resident (the KV cache, fed back as the next step's past), releasing those, and memory
 * figures.
 *
 * Implementations: `wasmBackend` (onnxruntime-web's WASM build, its heap run path; Worker and Node),
 * the Node host's onnxruntime-node backend, a browser WebGPU backend. Each decides what "resident"
 * means (ORT's wasm heap, native memory, a GPU buffer); the engine only holds and disposes them.
 *
 * @example
 * const engine = await Engine.create(pkg, { backend: await wasmBackend() });
 */

/** A tensor in JS memory: the inputs of one step (token ids) and the outputs copied back (logits). */
export type HostTensor = {
  readonly type: "float32" | "int64";
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
};

/**
 * A tensor the backend holds between runs and feeds by reference. The holder disposes it once no
 * run will use it again; a disposed tensor cannot be fed. Backends refuse tensors of another backend.
 */
export interface ResidentTensor {
  readonly byteLength: number;
  dispose(): void;
}

/** What one run returns: outputs named in `keep` stay resident (the caller owns them), the rest are copied to JS. */
export type RunOutputs = { outputs: Record<string, HostTensor>; kept: Record<string, ResidentTensor> };

/** One inference session over a graph. Runs may be issued concurrently; the backend orders them if it must. */
export interface BackendSession {
  readonly inputNames: ReadonlySet<string>;
  /** Run with every graph input fed, host tensors copied in for this run only, resident ones by reference. */
  run(feeds: Record<string, HostTensor | ResidentTensor>, keep: ReadonlySet<string>): Promise<RunOutputs>;
}

/** Memory a backend reports: what it holds in all (heap, process or device) and the part resident tensors hold. */
export type BackendMemory = { residentBytes: number; tensorBytes: number };

export interface EngineBackend {
  /** "wasm", "node", "webgpu": reported by `/healthz` and the benches. */
  readonly name: string;
  /** A session over graph bytes whose initialisers live in the external weights file `weights.path`. */
  createSession(graph: Uint8Array, weights: { path: string; data: Uint8Array }): Promise<BackendSession>;
  /** Copy a tensor to the backend once (a request's LoRA inputs, an empty KV cache). */
  upload(tensor: HostTensor): ResidentTensor;
  /**
   * Copy a resident tensor back to JS. Optional: continuous batching needs it (a sequence leaving a
   * batch drops its columns of the shared KV cache); without it the engine runs sequences one by one.
   */
  read?(tensor: ResidentTensor): HostTensor;
  /**
   * Overwrite float32 values of a resident tensor from element `offset` on, in place: runs after
   * this see them. Optional, with `read`: the batched KV cache appends each step's new columns
   * into its buffers this way instead of the graph copying the whole cache to a new output.
   */
  write?(tensor: ResidentTensor, offset: number, data: Float32Array): void;
  memory(): BackendMemory;
}
