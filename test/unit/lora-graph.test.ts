/**
 * Contract 2 through the real graph: rank-0 LoRA inputs are exactly the base model, and a random
 * adapter on every projection equals the float64 reference with the delta merged into the weights.
 */
import { describe, expect, it } from "vitest";
import { forwardLogits, relL2, type HfConfig, type HfWeights } from "../reference/llama64.ts";
import { projectionPath, randomHfWeights } from "../reference/hf-checkpoint.ts";
import { createRng, randn } from "../reference/random.ts";
import { engineOf } from "../support/models.ts";
import { groupLayout, LORA_GROUPS, type Projection } from "../../src/runtime/manifest.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";

const config: HfConfig = {
  vocab_size: 320, hidden_size: 64, intermediate_size: 112, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 50_000, rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: true, max_position_embeddings: 64,
};
const weights = randomHfWeights(config, 3, 0.15);
const TOKENS = [3, 141, 59, 26, 5, 35, 89, 79, 32, 38];

/**
 * Random per-projection adapters (rank r) as graph feeds, plus the merged weights the oracle uses:
 * W_hf[out, in] += (A[:, block] · B[block, cols])ᵀ.
 */
function randomAdapter(r: number, seed: number): { feeds: LoraFeeds; merged: HfWeights } {
  const rng = createRng(seed);
  const merged: HfWeights = new Map(weights);
  const layers: LoraFeeds["layers"] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const layer: LoraFeeds["layers"][number] = {};
    for (const g of LORA_GROUPS) {
      const { in: K, out: N, columns } = groupLayout({ ...config, family: "llama", model_type: "llama", head_dim: 16, attention_bias: true }, g.name);
      const R = r * g.projections.length;
      const A = Float32Array.from(randn(rng, K * R, 0.2)); // [K, R]
      const B = new Float32Array(R * N); // [R, N], block-diagonal over projections
      g.projections.forEach((p: Projection, j) => {
        const [c0, c1] = columns[p]!;
        for (let i = j * r; i < (j + 1) * r; i++) for (let c = c0; c < c1; c++) B[i * N + c] = 0.2 * randn(rng, 1)[0]!;
        const name = `${projectionPath(l, p)}.weight`;
        const W = merged.get(name)!;
        const data = Float64Array.from(W.data);
        const out = c1 - c0;
        for (let o = 0; o < out; o++) {
          for (let k = 0; k < K; k++) {
            let d = 0;
            for (let i = j * r; i < (j + 1) * r; i++) d += A[k * R + i]! * B[i * N + c0 + o]!;
            data[o * K + k]! += d;
          }
        }
        merged.set(name, { dims: W.dims, data });
      });
      layer[g.name] = { rank: R, A, B };
    }
    layers.push(layer);
  }
  return { feeds: { layers, dora: false }, merged };
}

describe("LoRA graph inputs", () => {
  it("rank-0 inputs give logits bit-identical to the graph without side paths", async () => {
    const withLora = await engineOf(config, weights, "int8");
    const plain = await engineOf(config, weights, "int8", { lora: false });
    const a = (await withLora.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
    const b = (await plain.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
    expect(a.length).toBe(b.length);
    expect(a.every((v, i) => Object.is(v, b[i]))).toBe(true);
  });

  it("a random rank-4 adapter on all seven projections equals the float64 reference with W + A·B merged (fp32, rel L2 < 1e-5)", async () => {
    const engine = await engineOf(config, weights, "fp32");
    const { feeds, merged } = randomAdapter(4, 9);
    const got = (await engine.forward(TOKENS, { lora: feeds, logitsToKeep: TOKENS.length })).logits;
    const want = forwardLogits(config, merged, TOKENS);
    expect(relL2(got, want)).toBeLessThan(1e-5);
    // and the adapter really changes the output
    expect(relL2(forwardLogits(config, weights, TOKENS), want)).toBeGreaterThan(1e-2);
  });

  it("switching adapters between calls needs no new session: base, adapter, base again", async () => {
    const engine = await engineOf(config, weights, "fp32");
    const { feeds } = randomAdapter(2, 10);
    const base1 = (await engine.forward(TOKENS)).logits;
    const adapted = (await engine.forward(TOKENS, { lora: feeds })).logits;
    const base2 = (await engine.forward(TOKENS)).logits;
    expect(base2).toEqual(base1);
    expect(relL2(adapted, base1)).toBeGreaterThan(1e-3);
  });
});
