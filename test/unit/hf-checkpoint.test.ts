/**
 * The builder on a Hugging Face checkpoint directory (written by the test in save_pretrained's
 * layout, bf16 and sharded) reproduces the logits of the same weights given in memory.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomHfWeights, writeHfCheckpoint } from "../reference/hf-checkpoint.ts";
import { bf16ToF32, f32ToBf16 } from "../reference/half.ts";
import { forwardLogits, relL2, type HfConfig, type HfWeights } from "../reference/llama64.ts";
import { readHfCheckpoint } from "../../src/builder/hf-checkpoint.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { createEngine } from "../support/backend.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { engineOf, testTokenizer } from "../support/models.ts";
import { writeFileSync } from "node:fs";

const config: HfConfig = {
  vocab_size: 320, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 500_000, rms_norm_eps: 1e-6, tie_word_embeddings: false, attention_bias: true, max_position_embeddings: 64,
};
const TOKENS = [7, 99, 12, 250, 31, 4, 77];

/** The weights as bf16 stores them, so in-memory and on-disk models are the same model. */
function bf16Rounded(w: HfWeights): HfWeights {
  return new Map([...w].map(([k, t]) => [k, { dims: t.dims, data: Float32Array.from(t.data, (v) => bf16ToF32(f32ToBf16(v))) }]));
}

describe("Hugging Face checkpoint → model package", () => {
  it.each([1, 3])("a bf16 checkpoint in %i shard(s) gives the in-memory model's logits exactly", async (shards) => {
    const weights = bf16Rounded(randomHfWeights(config, 21, 0.15));
    const dir = mkdtempSync(join(tmpdir(), "lora-edge-hf-"));
    writeHfCheckpoint(dir, config, weights, { dtype: "BF16", ...(shards > 1 ? { shards } : {}) });
    const tok = testTokenizer(320);
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tok.tokenizerJson));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(tok.tokenizerConfig));

    const ckpt = readHfCheckpoint(dir);
    expect(ckpt.arch).toMatchObject({ model_type: "qwen2", attention_bias: true, num_key_value_heads: 2, rope_theta: 500_000, head_dim: 16 });
    expect(ckpt.dtype).toBe("BF16");
    const { files } = assembleModelPackage({
      name: "from-hf", arch: ckpt.arch, weights: ckpt.weights, format: "fp32",
      source: { kind: "huggingface", architectures: ckpt.architectures, dtype: ckpt.dtype, weights_sha256: "0".repeat(64) },
      tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
    });
    const fromDisk = await createEngine(await loadModelPackage(async (p) => files[p]!));
    const inMemory = await engineOf(config, weights, "fp32");
    const a = (await fromDisk.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
    const b = (await inMemory.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
    expect(a).toEqual(b);
    expect(relL2(a, forwardLogits(config, weights, TOKENS))).toBeLessThan(1e-5);
  });

  it("refuses an architecture the graph does not implement, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "lora-edge-hf-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ architectures: ["GPT2LMHeadModel"], model_type: "gpt2", vocab_size: 10, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 8, rms_norm_eps: 1e-5 }));
    expect(() => readHfCheckpoint(dir)).toThrow(/GPT2LMHeadModel/);
  });
});
