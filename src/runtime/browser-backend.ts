/**
 * The engine backend for a page: onnxruntime-web's WebGPU EP when the browser has a WebGPU
 * adapter (src/runtime/webgpu-backend.ts), else the WASM backend the Worker runs
 * (src/runtime/wasm-backend.ts). Each ORT build is imported only when chosen. The page hands over
 * ORT's wasm binaries; how it fetches them is its business.
 *
 * @example const backend = await browserBackend({ webgpu: () => fetchBinary("asyncify"), wasm: () => fetchBinary("wasm") });
 */
import type { EngineBackend } from "./backend.ts";

/** ORT's wasm binaries: the WebGPU build's (`ort-wasm-simd-threaded.asyncify.wasm`) and the WASM build's (`ort-wasm-simd-threaded.wasm`). */
export type OrtBinaries = { webgpu(): Promise<Uint8Array>; wasm(): Promise<Uint8Array> };

/** WebGPU where there is an adapter (and `prefer` allows it), else WASM. */
export async function browserBackend(binaries: OrtBinaries, opts: { prefer?: "webgpu" | "wasm" } = {}): Promise<EngineBackend> {
  if (opts.prefer !== "wasm" && (await hasWebGpu())) {
    const { webgpuBackend } = await import("./webgpu-backend.ts");
    return webgpuBackend(await binaries.webgpu());
  }
  const { wasmBackend } = await import("./wasm-backend.ts");
  return wasmBackend(await WebAssembly.compile((await binaries.wasm()) as Uint8Array<ArrayBuffer>));
}

/**
 * Whether this browser has a WebGPU adapter. Some configurations never settle the adapter request
 * (FACTS.md: headless chromium without Vulkan), so it gives up after `timeoutMs`.
 */
export async function hasWebGpu(timeoutMs = 5000): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  try {
    return (await Promise.race([gpu.requestAdapter().catch(() => null), timeout])) != null;
  } finally {
    clearTimeout(timer);
  }
}
