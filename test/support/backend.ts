/**
 * The engine backend the engine tests run on: WASM (onnxruntime-web, the Worker's) by default, or
 * onnxruntime-node when `LORA_EDGE_TEST_BACKEND=node` (vitest's `engine-node` project runs the
 * same engine test files that way), so one suite drives both backends.
 */
import { Engine } from "../../src/runtime/engine.ts";
import type { EngineBackend } from "../../src/runtime/backend.ts";
import type { ModelPackage } from "../../src/runtime/model-package.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { wasmBackend } from "../../src/runtime/wasm-backend.ts";

export const TEST_BACKEND = process.env.LORA_EDGE_TEST_BACKEND === "node" ? "node" : "wasm";

/** The backend under test (the native one on one thread, as the WASM one runs). */
export function testBackend(): Promise<EngineBackend> {
  return TEST_BACKEND === "node" ? Promise.resolve(nodeBackend({ threads: 1 })) : wasmBackend();
}

/** `Engine.create` on the backend under test. */
export async function createEngine(pkg: ModelPackage, opts: { rereadWeights?: () => Promise<Uint8Array>; batching?: boolean } = {}): Promise<Engine> {
  return Engine.create(pkg, { ...opts, backend: await testBackend() });
}
