/**
 * The engine backend on onnxruntime-web's WASM build (src/runtime/ort.ts): resident tensors are
 * `HeapTensor`s in ORT's wasm heap, runs go through `runSession` (the C API, feeds by reference,
 * the KV cache kept in the heap), one queue for every ORT call in the isolate. The Worker's
 * backend; also runs in Node and browsers.
 *
 * @example const engine = await Engine.create(pkg, { backend: await wasmBackend(ortWasmModule) });
 */
import type { BackendSession, EngineBackend, HostTensor, ResidentTensor, RunOutputs } from "./backend.ts";
import { createSession, HeapTensor, heapTensorBytes, initOrt, ort, runSession, wasmHeapBytes, type Feed } from "./ort.ts";

/** Initialise ORT (pass its precompiled wasm Module inside workerd) and return the backend. */
export async function wasmBackend(wasmModule?: WebAssembly.Module): Promise<EngineBackend> {
  await initOrt(wasmModule);
  return WASM_BACKEND;
}

const WASM_BACKEND: EngineBackend = {
  name: "wasm",
  async createSession(graph, weights) {
    return new WasmSession(await createSession(graph, weights));
  },
  upload: (tensor) => HeapTensor.from(ortTensor(tensor)),
  read(tensor) {
    if (!(tensor instanceof HeapTensor)) throw new Error("this tensor is resident on another backend");
    return tensor.read() as HostTensor;
  },
  write(tensor, offset, data) {
    if (!(tensor instanceof HeapTensor)) throw new Error("this tensor is resident on another backend");
    tensor.write(offset, data);
  },
  memory: () => ({ residentBytes: wasmHeapBytes(), tensorBytes: heapTensorBytes() }),
};

class WasmSession implements BackendSession {
  readonly inputNames: ReadonlySet<string>;
  readonly #session: ort.InferenceSession;

  constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.inputNames = new Set(session.inputNames);
  }

  async run(feeds: Record<string, HostTensor | ResidentTensor>, keep: ReadonlySet<string>): Promise<RunOutputs> {
    const heapFeeds: Record<string, Feed> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t instanceof HeapTensor) heapFeeds[name] = t;
      else if ("data" in t) heapFeeds[name] = ortTensor(t);
      else throw new Error(`input '${name}' is resident on another backend`);
    }
    const { copied, kept } = await runSession(this.#session, heapFeeds, keep);
    return { outputs: copied as Record<string, HostTensor>, kept };
  }
}

function ortTensor(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.type, t.data, t.dims);
}
