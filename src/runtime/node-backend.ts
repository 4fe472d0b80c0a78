/**
 * The engine backend on onnxruntime-node: ORT's native CPU build, with intra-op threads. Node only
 * (the Node host, tests, benches); the Worker never imports it.
 *
 * What stays resident, and why no copy path like the WASM heap's is needed: onnxruntime-node wraps
 * a JS tensor's own memory as the ORT input (no copy in), so a `NodeTensor` is just the JS tensor,
 * kept: a request's LoRA inputs are uploaded once and read in place on every step. Outputs come back
 * as JS tensors; the KV cache's `present` outputs are kept and fed back as the next step's `past`.
 *
 * @example const engine = await Engine.create(pkg, { backend: nodeBackend({ threads: 2 }) });
 */
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import type { BackendSession, EngineBackend, HostTensor, ResidentTensor, RunOutputs } from "./backend.ts";

export type NodeBackendOptions = {
  /** intra-op threads per run; default: the machine's cores, at most 4 (decode of small bases gains little beyond) */
  threads?: number;
};

/** The default thread count for this machine. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** An onnxruntime-node backend running `threads` intra-op threads per run. */
export function nodeBackend(opts: NodeBackendOptions = {}): EngineBackend {
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, not ${threads}`);
  return {
    name: "node",
    async createSession(graph, weights) {
      const session = await ort.InferenceSession.create(graph, {
        externalData: [{ path: weights.path, data: weights.data }],
        graphOptimizationLevel: "all",
        executionProviders: ["cpu"],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        enableCpuMemArena: true,
        logSeverityLevel: 3,
      });
      return new NodeSession(session);
    },
    upload: (t) => new NodeTensor(ortTensor(t)),
    read(t) {
      if (!(t instanceof NodeTensor)) throw new Error("this tensor is resident on another backend");
      return t.tensor as unknown as HostTensor;
    },
    write(t, offset, data) {
      if (!(t instanceof NodeTensor)) throw new Error("this tensor is resident on another backend");
      t.write(offset, data);
    },
    memory: () => ({ residentBytes: process.memoryUsage().rss, tensorBytes: NodeTensor.liveBytes }),
  };
}

/** A JS tensor held for the next runs; ORT reads its memory in place. */
class NodeTensor implements ResidentTensor {
  static liveBytes = 0;
  readonly byteLength: number;
  #tensor: ort.Tensor | undefined;

  constructor(tensor: ort.Tensor) {
    this.#tensor = tensor;
    this.byteLength = (tensor.data as ArrayBufferView).byteLength;
    NodeTensor.liveBytes += this.byteLength;
  }

  get tensor(): ort.Tensor {
    if (!this.#tensor) throw new Error("this tensor was disposed");
    return this.#tensor;
  }

  /** ORT reads the JS array in place, so a write is seen by the next run. */
  write(offset: number, data: Float32Array): void {
    const values = this.tensor.data;
    if (!(values instanceof Float32Array) || offset < 0 || offset + data.length > values.length) throw new RangeError(`cannot write ${data.length} floats at ${offset} into a ${this.tensor.type} tensor of ${values.length}`);
    values.set(data, offset);
  }

  dispose(): void {
    if (!this.#tensor) return;
    this.#tensor = undefined;
    NodeTensor.liveBytes -= this.byteLength;
  }
}

class NodeSession implements BackendSession {
  readonly inputNames: ReadonlySet<string>;
  readonly #session: ort.InferenceSession;

  constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.inputNames = new Set(session.inputNames);
  }

  async run(feeds: Record<string, HostTensor | ResidentTensor>, keep: ReadonlySet<string>): Promise<RunOutputs> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t instanceof NodeTensor) inputs[name] = t.tensor;
      else if ("data" in t) inputs[name] = ortTensor(t);
      else throw new Error(`input '${name}' is resident on another backend`);
    }
    const results = await this.#session.run(inputs);
    const out: RunOutputs = { outputs: {}, kept: {} };
    for (const [name, value] of Object.entries(results)) {
      const t = value as ort.Tensor;
      if (keep.has(name)) out.kept[name] = new NodeTensor(t);
      else out.outputs[name] = t as unknown as HostTensor;
    }
    return out;
  }
}

function ortTensor(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.type, t.data, t.dims);
}
