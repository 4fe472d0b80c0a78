/**
 * onnxruntime-web's wasm binaries as the site serves them: gzipped (the WebGPU build is over the
 * 25 MiB a static asset may hold; tools/build-site.ts), inflated here with `DecompressionStream`.
 * The browser's HTTP cache keeps them between visits.
 */

/** The WebGPU build (its own glue is in the `onnxruntime-web/webgpu` bundle) and the WASM build (the Worker's). */
export type OrtBinary = "ort-wasm-simd-threaded.asyncify.wasm" | "ort-wasm-simd-threaded.wasm";

/** Fetch and inflate one binary. */
export async function fetchOrtBinary(name: OrtBinary): Promise<Uint8Array> {
  const res = await fetch(`/playground/ort/${name}.gz`);
  if (!res.ok || !res.body) throw new Error(`GET /playground/ort/${name}.gz: ${res.status}`);
  return new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
}
