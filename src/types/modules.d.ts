// Module types for what wrangler bundles (wrangler.toml [[rules]]): model files as bytes and ORT's
// wasm as a precompiled module (workerd cannot compile wasm from bytes).
declare module "*.onnx" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.weights" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
