/**
 * onnxruntime-web (WASM backend) set up so it runs in Node, browsers and workerd alike.
 *
 * workerd forbids compiling WebAssembly from bytes, so a Worker imports ORT's `.wasm` as a
 * precompiled `WebAssembly.Module` and passes it here. ORT cannot hand emscripten an
 * `instantiateWasm` hook, so while ORT initialises we substitute that Module for the bytes it tries
 * to instantiate (FACTS.md), then restore `WebAssembly.instantiate`.
 */
import * as ort from "onnxruntime-web/wasm";

export { ort };

let initialised: Promise<void> | undefined;
let wasmMemory: WebAssembly.Memory | undefined;

/**
 * Initialise ORT once per isolate or process. Pass `wasmModule` inside workerd.
 *
 * @example await initOrt(ortWasmModule) // in the Worker; await initOrt() in Node
 */
export function initOrt(wasmModule?: WebAssembly.Module): Promise<void> {
  initialised ??= (async () => {
    ort.env.wasm.numThreads = 1; // Workers have no threads; one thread is also what we benchmark
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    if (wasmModule) ort.env.wasm.wasmBinary = new Uint8Array(8); // placeholder: stops ORT from fetching the file
    const original = WebAssembly.instantiate;
    const instantiateModule = original as (m: WebAssembly.Module, i?: WebAssembly.Imports) => Promise<WebAssembly.Instance>;
    const instantiateBytes = original as (b: BufferSource, i?: WebAssembly.Imports) => Promise<WebAssembly.WebAssemblyInstantiatedSource>;
    const substitute = (async (source: unknown, imports?: WebAssembly.Imports) => {
      // remember ORT's heap (imported by its threaded build, exported otherwise) to report its size
      wasmMemory ??= findMemory(imports);
      if (source instanceof WebAssembly.Module) return instantiateModule(source, imports);
      const result = wasmModule ? { instance: await instantiateModule(wasmModule, imports), module: wasmModule } : await instantiateBytes(source as BufferSource, imports);
      wasmMemory ??= findMemory({ exports: result.instance.exports as Record<string, WebAssembly.ExportValue> });
      return result;
    }) as typeof WebAssembly.instantiate;
    WebAssembly.instantiate = substitute;
    try {
      // a one-node graph forces ORT's wasm initialisation now, while the substitute is in place
      await ort.InferenceSession.create(IDENTITY_GRAPH);
    } finally {
      WebAssembly.instantiate = original;
    }
  })();
  return initialised;
}

function findMemory(namespaces: WebAssembly.Imports | undefined): WebAssembly.Memory | undefined {
  for (const ns of Object.values(namespaces ?? {})) {
    for (const v of Object.values(ns ?? {})) if (v instanceof WebAssembly.Memory) return v;
  }
  return undefined;
}

/** Bytes of ORT's WebAssembly heap now (it grows and never shrinks): the engine's resident memory. */
export function wasmHeapBytes(): number {
  return wasmMemory?.buffer.byteLength ?? 0;
}

/** ONNX model with Identity nodes, float[1] → float[1] (written once by src/build/onnx.ts; 155 bytes). */
const IDENTITY_GRAPH = Uint8Array.from(
  atob(
    "CAgSCWxvcmEtZWRnZTIAOnEKIAoBeBIBbhoMbl9JZGVudGl0eV8wIghJZGVudGl0eToACiAKAW4SAXkaDG5fSWRlbnRpdHlfMSIISWRlbnRpdHk6ABIJbG9yYV9lZGdlWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEUIRCg1jb20ubWljcm9zb2Z0EAE=",
  ),
  (c) => c.charCodeAt(0),
);

export type SessionWeights = { path: string; data: Uint8Array };

/**
 * One queue for every ORT call in this isolate or process: the WASM backend is a single instance
 * whose calls must not overlap (overlapping runs of two sessions corrupt each other's inputs:
 * "input name cannot be empty"), and it mounts external data in one table keyed by file name.
 */
let queue: Promise<unknown> = Promise.resolve();
function serialised<T>(call: () => Promise<T>): Promise<T> {
  const result = queue.then(call);
  queue = result.catch(() => undefined);
  return result;
}

/** Run a session, never overlapping another ORT call. */
export function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  return serialised(() => session.run(feeds));
}

/** Create an inference session from graph bytes and its external weights (serialised, see above). */
export function createSession(graph: Uint8Array, weights: SessionWeights): Promise<ort.InferenceSession> {
  return serialised(() =>
    ort.InferenceSession.create(graph, {
      externalData: [weights],
      graphOptimizationLevel: "all",
      executionProviders: ["wasm"],
      enableCpuMemArena: true,
    }),
  );
}
