// The demo adapters' weights are bundled as bytes (wrangler.toml [[rules]] Data glob).
declare module "*.safetensors" {
  const bytes: ArrayBuffer;
  export default bytes;
}
