/**
 * The engine a page runs: the Worker's model package fetched over HTTP (progress, Cache API), on
 * the browser backend (WebGPU, or the Worker's WASM engine where the browser has no adapter).
 */
import { Engine } from "../src/runtime/engine.ts";
import { browserBackend } from "../src/runtime/browser-backend.ts";
import { fetchOrtBinary } from "./ort-binaries.ts";
import { fetchModelPackage, type DownloadProgress } from "./package-loader.ts";

/**
 * @example const engine = await createBrowserEngine({ onProgress: console.log }); engine.backend.name // "webgpu"
 */
export async function createBrowserEngine(opts: { prefer?: "webgpu" | "wasm"; onProgress(p: DownloadProgress): void }): Promise<Engine> {
  const [pkg, backend] = await Promise.all([
    fetchModelPackage(opts.onProgress),
    browserBackend({ webgpu: () => fetchOrtBinary("ort-wasm-simd-threaded.asyncify.wasm"), wasm: () => fetchOrtBinary("ort-wasm-simd-threaded.wasm") }, opts.prefer ? { prefer: opts.prefer } : {}),
  ]);
  // one user: nothing to batch, and one session (the plain graph) in the page's memory
  return Engine.create(pkg, { backend, batching: false });
}
