/**
 * The engine a page runs: the Worker's model package fetched over HTTP, on onnxruntime-web's
 * WebGPU backend when the browser has a GPU adapter, else on the same WASM engine the Worker runs.
 */
import { Engine } from "../src/runtime/engine.ts";
import { wasmBackend } from "../src/runtime/wasm-backend.ts";
import { fetchOrtBinary } from "./ort-binaries.ts";
import { fetchModelPackage, type DownloadProgress } from "./package-loader.ts";

export type BrowserBackend = "webgpu" | "wasm";

/**
 * @example const { engine, backend } = await createBrowserEngine({ webgpu: true, onProgress: console.log });
 */
export async function createBrowserEngine(opts: { webgpu: boolean; onProgress(p: DownloadProgress): void }): Promise<{ engine: Engine; backend: BrowserBackend }> {
  const [pkg, wasm] = await Promise.all([fetchModelPackage(opts.onProgress), fetchOrtBinary("ort-wasm-simd-threaded.wasm")]);
  // one user: nothing to batch, and one session (the plain graph) in the page's memory
  const engine = await Engine.create(pkg, { backend: await wasmBackend(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>)), batching: false });
  return { engine, backend: "wasm" };
}
