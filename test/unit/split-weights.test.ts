/**
 * A package whose weights file is stored in parts (hosts with a per-file limit: wrangler's static
 * assets take 25 MiB per file) loads as one file and serves the same logits.
 */
import { describe, expect, it } from "vitest";
import { randomHfWeights } from "../reference/hf-checkpoint.ts";
import { archOf, testTokenizer, toBuilderWeights } from "../support/models.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { Engine } from "../../src/runtime/engine.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import type { HfConfig } from "../reference/llama64.ts";

const config: HfConfig = { vocab_size: 320, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 10_000, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 64 };

function build(splitWeightsBytes?: number) {
  const tok = testTokenizer(320);
  return assembleModelPackage({
    name: "split", arch: archOf(config), weights: toBuilderWeights(randomHfWeights(config, 5, 0.15)), format: "int8", source: { kind: "random", seed: 5 },
    tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig, generationConfig: {}, ...(splitWeightsBytes ? { splitWeightsBytes } : {}),
  });
}

describe("weights in parts", () => {
  it("are written as model.weights.000… under the limit, named in the manifest, and give the one-file package's logits", async () => {
    const whole = build();
    const split = build(20_000);
    const parts = split.manifest.files.weights.parts!;
    expect(parts.length).toBeGreaterThan(2);
    expect(split.files["model.weights"]).toBeUndefined();
    expect(parts.every((p) => split.files[p.path]!.byteLength <= 20_000)).toBe(true);
    // identity and layout are the whole file's
    expect({ ...split.manifest.files.weights, parts: undefined }).toEqual({ ...whole.manifest.files.weights, parts: undefined });
    const ids = [5, 17, 200, 31];
    const a = await Engine.create(await loadModelPackage(async (p) => whole.files[p]!));
    const b = await Engine.create(await loadModelPackage(async (p) => split.files[p]!));
    expect((await b.forward(ids, { logitsToKeep: 4 })).logits).toEqual((await a.forward(ids, { logitsToKeep: 4 })).logits);
  });

  it("refuses a package with a corrupted part", async () => {
    const split = build(20_000);
    const first = split.manifest.files.weights.parts![0]!.path;
    const bad = { ...split.files, [first]: split.files[first]!.map((v, i) => (i === 7 ? v ^ 1 : v)) };
    await expect(loadModelPackage(async (p) => bad[p]!)).rejects.toThrow(/model\.weights\.000: sha256 does not match/);
  });
});
