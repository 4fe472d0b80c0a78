/**
 * onnxruntime-node (the Node host's backend) against onnxruntime-web's WASM build (the Worker's):
 * the same package and adapter give the same logits within relative L2 1e-4 in fp32, and the same
 * greedy tokens. In int8 each backend quantizes activations with its own kernels (native x86 u8×s8
 * vs WASM SIMD), so they agree only as closely as each agrees with the float reference: within 5e-2
 * (engine-reference.test.ts's int8 bound); greedy tokens may part ways (bench/node.ts measures
 * SmolLM2, where both are 0.1–0.5 from transformers' fp32 logits).
 */
import { describe, expect, it } from "vitest";
import { relL2, type HfConfig } from "../reference/llama64.ts";
import { randomHfWeights } from "../reference/hf-checkpoint.ts";
import { randomFeeds } from "../support/feeds.ts";
import { packageOf } from "../support/models.ts";
import { demoPackage } from "../support/demo-model.ts";
import { Engine } from "../../src/runtime/engine.ts";
import type { ModelPackage } from "../../src/runtime/model-package.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { GREEDY } from "../../src/runtime/sampling.ts";
import { wasmBackend } from "../../src/runtime/wasm-backend.ts";

const CONFIG: HfConfig = {
  vocab_size: 320, hidden_size: 128, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rms_norm_eps: 1e-5, max_position_embeddings: 128, rope_theta: 10_000, tie_word_embeddings: false,
};
const TOKENS = [3, 141, 59, 26, 5, 35, 89, 79, 32, 38, 46, 264, 33, 83, 27, 95];
const BOUND = { fp32: 1e-4, int8: 5e-2 };

/** The plain graph on both (batching off): the batched path runs on both backends in engine-batching.test.ts. */
async function bothBackends(pkg: ModelPackage): Promise<[Engine, Engine]> {
  return [await Engine.create(pkg, { backend: await wasmBackend(), batching: false }), await Engine.create(pkg, { backend: nodeBackend({ threads: 2 }), batching: false })];
}

async function greedy(engine: Engine, lora: LoraFeeds | undefined, n: number): Promise<number[]> {
  const ids: number[] = [];
  for await (const ev of engine.generate({ promptIds: TOKENS, maxTokens: n, sampling: GREEDY, stopTokenIds: [], ...(lora ? { lora } : {}) })) if (ev.type === "token") ids.push(ev.id);
  return ids;
}

const cases: Array<[string, "fp32" | "int8", () => Promise<ModelPackage>]> = [
  ["a random model, fp32", "fp32", () => packageOf(CONFIG, randomHfWeights(CONFIG, 21, 0.15), "fp32")],
  ["a random model, int8", "int8", () => packageOf(CONFIG, randomHfWeights(CONFIG, 21, 0.15), "int8")],
  ["the demo model (int8)", "int8", demoPackage],
];

describe.each(cases)("native vs WASM on %s", (_, format, load) => {
  it(`logits of every position, base and with an r=16 adapter on all projections, within ${BOUND[format]}${format === "fp32" ? "; same greedy tokens" : ""}`, async () => {
    const pkg = await load();
    const [wasm, native] = await bothBackends(pkg);
    const lora = randomFeeds(pkg.manifest.architecture, 16);
    for (const feeds of [undefined, lora]) {
      const opts = { logitsToKeep: TOKENS.length, ...(feeds ? { lora: feeds } : {}) };
      const err = relL2((await native.forward(TOKENS, opts)).logits, (await wasm.forward(TOKENS, opts)).logits);
      expect(err).toBeLessThan(BOUND[format]);
      if (format === "fp32") expect(await greedy(native, feeds, 24)).toEqual(await greedy(wasm, feeds, 24));
    }
  });
});
