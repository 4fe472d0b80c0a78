/**
 * The Cloudflare Worker entry: the embedded model package and ORT's wasm come from the bundle;
 * the engine is created once per isolate, on the first request that needs it.
 */
import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import graph from "../models/demo/model.onnx";
import doraGraph from "../models/demo/model.dora.onnx";
import weights from "../models/demo/model.weights";
import manifest from "../models/demo/manifest.json";
import tokenizer from "../models/demo/tokenizer.json";
import tokenizerConfig from "../models/demo/tokenizer_config.json";
import generationConfig from "../models/demo/generation_config.json";
import { baseOnlySelection, createApp } from "./app.ts";
import { Engine } from "./runtime/engine.ts";
import { loadModelPackage } from "./runtime/model-package.ts";
import { readLimits } from "./pipeline/limits.ts";
import type { Env } from "./env.ts";

const encoder = new TextEncoder();
/** Bundled files by package path; JSON comes pre-parsed, so it is re-encoded (the bundle is the trust boundary). */
const files: Record<string, Uint8Array> = {
  "manifest.json": encoder.encode(JSON.stringify(manifest)),
  "model.onnx": new Uint8Array(graph),
  "model.dora.onnx": new Uint8Array(doraGraph),
  "model.weights": new Uint8Array(weights),
  "tokenizer.json": encoder.encode(JSON.stringify(tokenizer)),
  "tokenizer_config.json": encoder.encode(JSON.stringify(tokenizerConfig)),
  "generation_config.json": encoder.encode(JSON.stringify(generationConfig)),
};

let engine: Promise<Engine> | undefined;
/** The isolate's engine (created on first use; a failed creation is retried by the next request). */
export function embeddedEngine(): Promise<Engine> {
  engine ??= loadModelPackage(async (p) => files[p]!, { verify: false })
    .then((pkg) => Engine.create(pkg, { wasmModule: ortWasm }))
    .catch((err) => {
      engine = undefined;
      throw err;
    });
  return engine;
}

export default {
  fetch(request, env, ctx) {
    const app = createApp({
      engine: embeddedEngine,
      limits: readLimits(env),
      selectAdapters: baseOnlySelection,
      listAdapterModels: async () => [],
    });
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
