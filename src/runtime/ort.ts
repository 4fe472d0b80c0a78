/**
 * onnxruntime-web (WASM backend) set up so it runs in Node, browsers and workerd alike, plus the one
 * thing its JS layer lacks on the CPU: inputs that stay in ORT's heap between runs.
 *
 * workerd forbids compiling WebAssembly from bytes, so a Worker imports ORT's `.wasm` as a
 * precompiled `WebAssembly.Module` and passes it here. ORT cannot hand emscripten an
 * `instantiateWasm` hook, so while ORT initialises we substitute that Module for the bytes it tries
 * to instantiate (FACTS.md), then restore `WebAssembly.instantiate`.
 *
 * ORT-web's `session.run` copies every input into the wasm heap and frees it again, on every run;
 * it has IO binding only for GPU buffers. A LoRA adapter's feeds are the same on every decode step
 * of a request (2.5 MiB at r=16 on the demo model, a sixth of the int8 weights), so copying them per
 * step costs more than the side paths compute. `HeapTensor` holds a tensor in the heap across runs, and
 * `runSession` calls ORT's exported C API (`OrtRun`, the same calls ORT-web's own `run` makes) with
 * those tensors by reference. No library offers this. The functions are the ones ORT-web's JS layer
 * calls; the version is pinned, `initOrt` checks they are all there, and every numeric test runs
 * through this path.
 */
import * as ort from "onnxruntime-web/wasm";

export { ort };

let initialised: Promise<void> | undefined;
let wasmMemory: WebAssembly.Memory | undefined;
let api: OrtApi | undefined;
let heapTensorTotal = 0;

/** The part of ORT's exported C API (onnxruntime/wasm/api.h) that `runSession` and `HeapTensor` call. */
type OrtApi = {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _OrtGetLastError(codeOut: number, messageOut: number): number;
  _OrtCreateTensor(type: number, data: number, bytes: number, dims: number, rank: number, location: number): number;
  _OrtGetTensorData(tensor: number, typeOut: number, dataOut: number, dimsOut: number, rankOut: number): number;
  _OrtReleaseTensor(tensor: number): number;
  _OrtFree(ptr: number): number;
  _OrtRun(session: number, inNames: number, inValues: number, inCount: number, outNames: number, outCount: number, outValues: number, runOptions: number): number | Promise<number>;
};

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
      // remember ORT's heap (imported by its threaded build, exported otherwise): its size, and where HeapTensors live
      wasmMemory ??= findMemory(imports);
      if (source instanceof WebAssembly.Module) return instantiateModule(source, imports);
      const result = wasmModule ? { instance: await instantiateModule(wasmModule, imports), module: wasmModule } : await instantiateBytes(source as BufferSource, imports);
      wasmMemory ??= findMemory({ exports: result.instance.exports as Record<string, WebAssembly.ExportValue> });
      return result;
    }) as typeof WebAssembly.instantiate;
    WebAssembly.instantiate = substitute;
    // emscripten sets each exported function on its Module object (`Module._OrtRun = …`); a setter
    // on Object.prototype, present only during initialisation, sees that object once
    Object.defineProperty(Object.prototype, MODULE_TRAP, {
      configurable: true,
      set(this: Record<string, unknown>, value: unknown) {
        Object.defineProperty(this, MODULE_TRAP, { value, writable: true, enumerable: true, configurable: true });
        api ??= this as unknown as OrtApi;
      },
    });
    try {
      // a one-node graph forces ORT's wasm initialisation now, while the substitute is in place
      await ort.InferenceSession.create(IDENTITY_GRAPH);
    } finally {
      WebAssembly.instantiate = original;
      delete (Object.prototype as Record<string, unknown>)[MODULE_TRAP];
    }
    const missing = API_FUNCTIONS.filter((f) => typeof (api as Record<string, unknown> | undefined)?.[f] !== "function");
    if (!wasmMemory || missing.length) {
      throw new Error(`onnxruntime-web's wasm module does not expose ${missing.join(", ") || "its memory"} as lora-edge expects (src/runtime/ort.ts)`);
    }
  })();
  return initialised;
}

const MODULE_TRAP = "_OrtRun";
const API_FUNCTIONS: ReadonlyArray<keyof OrtApi> = ["_malloc", "_free", "_OrtGetLastError", "_OrtCreateTensor", "_OrtGetTensorData", "_OrtReleaseTensor", "_OrtFree", "_OrtRun"];

function findMemory(namespaces: WebAssembly.Imports | undefined): WebAssembly.Memory | undefined {
  for (const ns of Object.values(namespaces ?? {})) {
    for (const v of Object.values(ns ?? {})) if (v instanceof WebAssembly.Memory) return v;
  }
  return undefined;
}

/** Bytes held in the heap by live `HeapTensor`s (LoRA inputs and KV caches of sequences in flight). */
export function heapTensorBytes(): number {
  return heapTensorTotal;
}

/** Bytes of ORT's WebAssembly heap now (it grows and never shrinks): the engine's resident memory. */
export function wasmHeapBytes(): number {
  return wasmMemory?.buffer.byteLength ?? 0;
}

/** ONNX model with Identity nodes, float[1] → float[1] (written once by src/builder/onnx.ts; 155 bytes). */
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

/** An input for `runSession`: an ordinary tensor (copied in for this run only) or one already in the heap. */
export type Feed = ort.Tensor | HeapTensor;
export type RunResult = {
  /** outputs copied out to JS */
  copied: Record<string, ort.Tensor>;
  /** outputs named in `keep`, left in the heap (to be fed to the next run, then disposed) */
  kept: Record<string, HeapTensor>;
};

/**
 * Run a session, never overlapping another ORT call: ordinary tensors are copied in for this run,
 * `HeapTensor`s are passed by reference. Outputs named in `keep` stay in the heap as `HeapTensor`s
 * the caller owns; the rest are copied out to new `ort.Tensor`s.
 */
export function runSession(session: ort.InferenceSession, feeds: Record<string, Feed>, keep: ReadonlySet<string> = NONE): Promise<RunResult> {
  return serialised(() => runInHeap(session, feeds, keep));
}

const NONE: ReadonlySet<string> = new Set();

async function runInHeap(session: ort.InferenceSession, feeds: Record<string, Feed>, keep: ReadonlySet<string>): Promise<RunResult> {
  const c = ortApi();
  const names = namesOf(session);
  const inputs = Object.keys(feeds);
  const missing = [...names.input.keys()].filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`input '${missing[0]}' is missing from the feeds`);
  const temporary: HeapTensor[] = [];
  const outCount = names.output.length;
  // [input names | input values | output names | output values], 4-byte pointers (wasm32)
  const table = c._malloc(4 * (2 * inputs.length + 2 * outCount));
  const outNames = table + 8 * inputs.length;
  const outValues = outNames + 4 * outCount;
  try {
    const handles: number[] = [];
    for (const name of inputs) {
      const feed = feeds[name]!;
      if (!names.input.has(name)) throw new Error(`input '${name}' is not an input of this session`);
      if (feed instanceof HeapTensor) handles.push(feed.handle);
      else {
        const copy = HeapTensor.from(feed);
        temporary.push(copy);
        handles.push(copy.handle);
      }
    }
    const heap = new Int32Array(wasmMemory!.buffer); // after the copies: one may have grown the heap
    inputs.forEach((name, i) => {
      heap[(table >> 2) + i] = names.input.get(name)!;
      heap[(table >> 2) + inputs.length + i] = handles[i]!;
    });
    names.output.forEach((ptr, i) => {
      heap[(outNames >> 2) + i] = ptr;
      heap[(outValues >> 2) + i] = 0; // ORT allocates the outputs
    });
    const code = await c._OrtRun(sessionHandle(session), table, table + 4 * inputs.length, inputs.length, outNames, outCount, outValues, 0);
    if (code !== 0) throwLastError("OrtRun failed");
    return collectOutputs(session, Array.from(new Int32Array(wasmMemory!.buffer, outValues, outCount)), keep);
  } finally {
    for (const t of temporary) t.dispose();
    c._free(table);
  }
}

/** A run's output values → copies or kept tensors; every value is released or owned, also on error. */
function collectOutputs(session: ort.InferenceSession, handles: number[], keep: ReadonlySet<string>): RunResult {
  const result: RunResult = { copied: {}, kept: {} };
  try {
    handles.forEach((handle, i) => {
      const name = session.outputNames[i]!;
      if (keep.has(name)) {
        result.kept[name] = HeapTensor.adopt(handle);
        handles[i] = 0;
      } else result.copied[name] = copyOut(handle);
    });
    return result;
  } catch (e) {
    for (const t of Object.values(result.kept)) t.dispose();
    throw e;
  } finally {
    for (const h of handles) if (h) ortApi()._OrtReleaseTensor(h);
  }
}

/**
 * A tensor in ORT's wasm heap, fed to any number of runs by reference: a JS tensor copied in once
 * (`HeapTensor.from`), or a run's output left where ORT put it (`keep` in `runSession`). Call
 * `dispose()` when no run will use it again; a disposed tensor cannot be fed.
 */
export class HeapTensor {
  readonly type: ort.Tensor.Type;
  readonly dims: readonly number[];
  readonly byteLength: number;
  #handle: number;
  /** our copy of the data (0 when ORT owns it, for outputs) */
  #data: number;

  private constructor(type: ort.Tensor.Type, dims: readonly number[], byteLength: number, handle: number, data: number) {
    this.type = type;
    this.dims = dims;
    this.byteLength = byteLength;
    this.#handle = handle;
    this.#data = data;
    heapTensorTotal += byteLength;
  }

  /** Copy a JS tensor into the heap. */
  static from(tensor: ort.Tensor): HeapTensor {
    const c = ortApi();
    const type = TENSOR_TYPES[tensor.type];
    if (type === undefined || tensor.location !== "cpu") throw new Error(`cannot copy a ${tensor.type} tensor on '${tensor.location}' into the heap`);
    const bytes = tensor.data as ArrayBufferView;
    const data = c._malloc(Math.max(1, bytes.byteLength));
    new Uint8Array(wasmMemory!.buffer).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), data);
    const dims = c._malloc(4 * Math.max(1, tensor.dims.length));
    new Int32Array(wasmMemory!.buffer).set(tensor.dims, dims >> 2);
    const handle = c._OrtCreateTensor(type, data, bytes.byteLength, dims, tensor.dims.length, 1 /* cpu */);
    c._free(dims);
    if (handle === 0) {
      c._free(data);
      throwLastError("OrtCreateTensor failed");
    }
    return new HeapTensor(tensor.type, [...tensor.dims], bytes.byteLength, handle, data);
  }

  /** Own a value ORT allocated; disposing it releases the value. */
  static adopt(handle: number): HeapTensor {
    const { type, dims, byteLength } = tensorInfo(handle);
    return new HeapTensor(type, dims, byteLength, handle, 0);
  }

  get handle(): number {
    if (this.#handle === 0) throw new Error("this HeapTensor was disposed");
    return this.#handle;
  }

  /** Copy the data out to a JS tensor. */
  read(): ort.Tensor {
    return copyOut(this.handle);
  }

  /**
   * Overwrite float32 values from element `offset` on, in the heap where ORT reads them. Only a
   * tensor copied in (`from`) owns its data; an output ORT allocated is read-only here.
   */
  write(offset: number, values: Float32Array): void {
    if (this.#handle === 0) throw new Error("this HeapTensor was disposed");
    if (this.#data === 0 || this.type !== "float32") throw new Error("only a float32 HeapTensor made by HeapTensor.from can be written");
    if (offset < 0 || 4 * (offset + values.length) > this.byteLength) throw new RangeError(`cannot write ${values.length} floats at ${offset} into ${this.byteLength} bytes`);
    new Float32Array(wasmMemory!.buffer, this.#data + 4 * offset, values.length).set(values);
  }

  /** Free it. Idempotent. */
  dispose(): void {
    if (this.#handle === 0) return;
    const c = ortApi();
    c._OrtReleaseTensor(this.#handle);
    if (this.#data) c._free(this.#data);
    this.#handle = 0;
    heapTensorTotal -= this.byteLength;
  }
}

/** ONNX TensorProto data types ORT's C API takes, for the tensor types we feed and read. */
const TENSOR_TYPES: Partial<Record<ort.Tensor.Type, number>> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 };
const ARRAYS: Record<number, [ort.Tensor.Type, { new (b: ArrayBuffer): ort.Tensor.DataType; BYTES_PER_ELEMENT: number }]> = {
  1: ["float32", Float32Array],
  2: ["uint8", Uint8Array],
  3: ["int8", Int8Array],
  6: ["int32", Int32Array],
  7: ["int64", BigInt64Array],
  9: ["bool", Uint8Array],
  10: ["float16", Uint16Array],
};

/** Type, shape and data address of an ORT value. */
function tensorInfo(handle: number) {
  const c = ortApi();
  const slots = c._malloc(16); // type, data, dims, rank
  try {
    if (c._OrtGetTensorData(handle, slots, slots + 4, slots + 8, slots + 12) !== 0) throwLastError("OrtGetTensorData failed");
    const [typeId, data, dimsPtr, rank] = Array.from(new Int32Array(wasmMemory!.buffer, slots, 4)) as [number, number, number, number];
    const dims = Array.from(new Int32Array(wasmMemory!.buffer, dimsPtr, rank));
    c._OrtFree(dimsPtr);
    const kind = ARRAYS[typeId];
    if (!kind) throw new Error(`a tensor of ONNX type ${typeId} is not supported`);
    const [type, Array_] = kind;
    return { type, Array_, data, dims, byteLength: dims.reduce((n, d) => n * d, 1) * Array_.BYTES_PER_ELEMENT };
  } finally {
    c._free(slots);
  }
}

/** An ORT value → a JS tensor with its own copy of the data. */
function copyOut(handle: number): ort.Tensor {
  const { type, Array_, data, dims, byteLength } = tensorInfo(handle);
  const copy = new ArrayBuffer(byteLength);
  new Uint8Array(copy).set(new Uint8Array(wasmMemory!.buffer, data, byteLength));
  return new ort.Tensor(type, new Array_(copy) as never, dims);
}

type SessionNames = { input: Map<string, number>; output: number[] };
const sessionNames = new WeakMap<ort.InferenceSession, SessionNames>();
/** The session's input and output names as NUL-terminated strings in the heap, written once per session. */
function namesOf(session: ort.InferenceSession): SessionNames {
  let names = sessionNames.get(session);
  if (!names) {
    names = { input: new Map(session.inputNames.map((n) => [n, heapString(n)])), output: session.outputNames.map(heapString) };
    sessionNames.set(session, names);
  }
  return names;
}

function heapString(s: string): number {
  const bytes = new TextEncoder().encode(s);
  const ptr = ortApi()._malloc(bytes.length + 1);
  const heap = new Uint8Array(wasmMemory!.buffer);
  heap.set(bytes, ptr);
  heap[ptr + bytes.length] = 0;
  return ptr;
}

/** ORT-web's session handler holds the C session handle as `sessionId`. */
function sessionHandle(session: ort.InferenceSession): number {
  const id = (session as unknown as { handler?: { sessionId?: unknown } }).handler?.sessionId;
  if (typeof id !== "number" || id === 0) throw new Error("not an onnxruntime-web WASM session");
  return id;
}

function throwLastError(what: string): never {
  const c = ortApi();
  const slots = c._malloc(8);
  try {
    c._OrtGetLastError(slots, slots + 4);
    const [code, message] = new Int32Array(wasmMemory!.buffer, slots, 2) as unknown as [number, number];
    throw new Error(`${what}: ORT error ${code}: ${message ? cString(message) : "(no message)"}`);
  } finally {
    c._free(slots);
  }
}

function cString(ptr: number): string {
  const heap = new Uint8Array(wasmMemory!.buffer);
  let end = ptr;
  while (heap[end] !== 0) end++;
  return new TextDecoder().decode(heap.slice(ptr, end)); // a copy: TextDecoder refuses shared memory
}

function ortApi(): OrtApi {
  if (!api) throw new Error("initOrt() has not completed");
  return api;
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
