/**
 * The engine backend on onnxruntime-web's WebGPU execution provider, for browsers. Resident
 * tensors live in GPU buffers: a request's LoRA inputs are written to buffers once (`upload`), and
 * every output comes back as a GPU buffer (`preferredOutputLocation: "gpu-buffer"`), so the KV
 * cache (`present.*`, kept) is fed back as the next step's `past` without leaving the GPU. A decode
 * step uploads its token ids and reads back only the outputs it does not keep: one row of logits.
 * Nodes the WebGPU EP has no kernel for (e.g. int8 `DynamicQuantizeMatMul`) run on ORT's CPU EP
 * inside the same session, with copies between them; the 4-bit `MatMulNBits` has a WebGPU kernel.
 *
 * Uses ORT's WebGPU build (`onnxruntime-web/webgpu`, its wasm passed in as bytes); zero-sized
 * tensors (rank-0 LoRA inputs, the empty KV cache) stay on the CPU, as WebGPU has no empty buffers
 * to bind.
 *
 * @example const engine = await Engine.create(pkg, { backend: await webgpuBackend(wasmBytes) });
 */
import * as ort from "onnxruntime-web/webgpu";
import type { BackendSession, EngineBackend, HostTensor, ResidentTensor, RunOutputs } from "./backend.ts";

/** The WebGPU calls this file makes (TypeScript's DOM types do not describe WebGPU yet). */
type GpuBuffer = { destroy(): void };
type GpuDevice = {
  createBuffer(descriptor: { size: number; usage: number }): GpuBuffer;
  queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void };
};
/** GPUBufferUsage: COPY_SRC | COPY_DST | STORAGE, what ORT's own input buffers carry. */
const BUFFER_USAGE = 0x04 | 0x08 | 0x80;

/**
 * Initialise ORT's WebGPU build with its wasm binary (`ort-wasm-simd-threaded.asyncify.wasm`) and
 * return the backend. Check `hasWebGpu()` (src/runtime/browser-backend.ts) first.
 */
export async function webgpuBackend(wasmBinary: Uint8Array): Promise<EngineBackend> {
  ort.env.wasm.wasmBinary = wasmBinary as Uint8Array<ArrayBuffer>;
  ort.env.wasm.numThreads = 1; // a page without cross-origin isolation has no shared memory for threads
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  return new WebGpuBackend();
}

class WebGpuBackend implements EngineBackend {
  readonly name = "webgpu";
  /** ORT's own device (buffers must live on it), known once the first session exists */
  #device: GpuDevice | undefined;
  /** one run at a time: an ORT-web session must not run twice at once */
  #queue: Promise<unknown> = Promise.resolve();
  #weightBytes = 0;
  tensorBytes = 0;

  async createSession(graph: Uint8Array, weights: { path: string; data: Uint8Array }): Promise<BackendSession> {
    const session = await ort.InferenceSession.create(graph, {
      executionProviders: ["webgpu"],
      externalData: [{ path: weights.path, data: weights.data }],
      preferredOutputLocation: "gpu-buffer",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3, // not the warning that shape ops run on the CPU, which they are meant to
    });
    this.#weightBytes += weights.data.byteLength;
    this.#device ??= (await ort.env.webgpu.device) as unknown as GpuDevice | undefined;
    if (!this.#device) throw new Error("onnxruntime-web created a WebGPU session but exposes no GPU device");
    return new WebGpuSession(this, session);
  }

  /** Write a tensor to a GPU buffer once (an empty one stays on the CPU). */
  upload(t: HostTensor): ResidentTensor {
    if (t.data.byteLength === 0) return new GpuResident(this, new ort.Tensor(t.type, t.data, t.dims), 0);
    const device = this.#device;
    if (!device) throw new Error("create a session before uploading tensors: the GPU device comes with it");
    const buffer = device.createBuffer({ size: align4(t.data.byteLength), usage: BUFFER_USAGE });
    device.queue.writeBuffer(buffer, 0, t.data);
    const tensor = ort.Tensor.fromGpuBuffer(buffer as never, { dataType: t.type, dims: t.dims, dispose: () => buffer.destroy() });
    return new GpuResident(this, tensor, t.data.byteLength);
  }

  /** The weights handed to sessions (on the GPU, or on the CPU for nodes the EP lacks) and live resident tensors. */
  memory() {
    return { residentBytes: this.#weightBytes + this.tensorBytes, tensorBytes: this.tensorBytes };
  }

  serialised<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(call);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

class WebGpuSession implements BackendSession {
  readonly inputNames: ReadonlySet<string>;
  readonly #backend: WebGpuBackend;
  readonly #session: ort.InferenceSession;

  constructor(backend: WebGpuBackend, session: ort.InferenceSession) {
    this.#backend = backend;
    this.#session = session;
    this.inputNames = new Set(session.inputNames);
  }

  run(feeds: Record<string, HostTensor | ResidentTensor>, keep: ReadonlySet<string>): Promise<RunOutputs> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t instanceof GpuResident) inputs[name] = t.tensor;
      else if ("data" in t) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
      else throw new Error(`input '${name}' is resident on another backend`);
    }
    return this.#backend.serialised(async () => {
      const results = await this.#session.run(inputs);
      const out: RunOutputs = { outputs: {}, kept: {} };
      try {
        for (const [name, t] of Object.entries(results)) {
          if (keep.has(name)) out.kept[name] = new GpuResident(this.#backend, t, t.size * bytesPer(t.type));
          else {
            const data = (await t.getData(true)) as Float32Array | BigInt64Array; // read back, then free the buffer
            out.outputs[name] = { type: t.type as HostTensor["type"], data, dims: t.dims };
          }
        }
        return out;
      } catch (err) {
        // a failed read-back: free what was kept and every buffer not yet handed over
        for (const k of Object.values(out.kept)) k.dispose();
        for (const [name, t] of Object.entries(results)) if (!(name in out.kept)) t.dispose();
        throw err;
      }
    });
  }
}

/** A tensor this backend holds: a GPU buffer, or an empty CPU tensor. */
class GpuResident implements ResidentTensor {
  readonly byteLength: number;
  readonly #backend: WebGpuBackend;
  #tensor: ort.Tensor | undefined;

  constructor(backend: WebGpuBackend, tensor: ort.Tensor, byteLength: number) {
    this.#backend = backend;
    this.#tensor = tensor;
    this.byteLength = byteLength;
    backend.tensorBytes += byteLength;
  }

  get tensor(): ort.Tensor {
    if (!this.#tensor) throw new Error("this tensor was disposed");
    return this.#tensor;
  }

  dispose(): void {
    if (!this.#tensor) return;
    this.#tensor.dispose();
    this.#tensor = undefined;
    this.#backend.tensorBytes -= this.byteLength;
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function bytesPer(type: ort.Tensor.Type): number {
  return type === "int64" || type === "float64" ? 8 : type === "float16" ? 2 : type === "int8" || type === "uint8" || type === "bool" ? 1 : 4;
}
