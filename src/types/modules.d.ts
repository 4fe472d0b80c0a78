// Module types for what wrangler bundles: ORT's wasm as a precompiled module (workerd cannot
// compile wasm from bytes). Data modules (wrangler.toml [[rules]]) are typed where they are used.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
