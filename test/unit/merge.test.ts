/**
 * Merge mode: a package with adapters folded into its weights gives the logits of the unmerged
 * path (base + LoRA inputs) — exactly up to float rounding in fp32, within the stated bound in int8.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomHfWeights, randomPeftTensors, writePeftAdapter, type ProjectionName } from "../reference/hf-checkpoint.ts";
import { relL2, type HfConfig } from "../reference/llama64.ts";
import { packageOf } from "../support/models.ts";
import { unpackModelPackage } from "../../src/builder/unpack.ts";
import { mergeAdapters } from "../../src/builder/merge.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import type { Engine } from "../../src/runtime/engine.ts";
import { createEngine } from "../support/backend.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { loadPeftAdapter } from "../../src/adapters/load-peft.ts";
import { prepareAdapter } from "../../src/adapters/prepare.ts";
import { composeAdapters } from "../../src/adapters/compose.ts";
import type { Projection, WeightFormat } from "../../src/runtime/manifest.ts";

const config: HfConfig = {
  vocab_size: 320, hidden_size: 64, intermediate_size: 112, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 50_000, rms_norm_eps: 1e-5, tie_word_embeddings: true, attention_bias: true, max_position_embeddings: 64,
};
const base = randomHfWeights(config, 8, 0.15);
const TOKENS = [3, 141, 59, 26, 5, 35, 89, 79, 32, 38, 46];
const ALL: ProjectionName[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

function adapterDir(seed: number, targets: ProjectionName[], extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "lora-edge-merge-"));
  const dora = extra.use_dora === true;
  writePeftAdapter(dir, { r: 4, lora_alpha: 8, target_modules: targets, ...extra }, randomPeftTensors(config, { r: 4, targets, seed, ...(dora ? { base } : {}) }), "F32");
  return dir;
}

function prepare(engine: Engine, baseWeight: (l: number, p: Projection) => Float32Array, dir: string) {
  const arch = engine.manifest.architecture;
  const peft = loadPeftAdapter({ config: readFileSync(join(dir, "adapter_config.json")), weights: new Uint8Array(readFileSync(join(dir, "adapter_model.safetensors"))) }, arch);
  return prepareAdapter(peft, arch, { baseWeight });
}

async function mergedVsUnmerged(format: WeightFormat, specs: { dir: string; weight: number }[]) {
  const pkg = await packageOf(config, base, format, { dora: true });
  const engine = await createEngine(pkg);
  const baseWeight = await engine.baseWeights();
  const adapters = specs.map((s) => ({ adapter: prepare(engine, baseWeight, s.dir), weight: s.weight }));
  const unmerged = (await engine.forward(TOKENS, { lora: composeAdapters(pkg.manifest.architecture, adapters), logitsToKeep: TOKENS.length })).logits;
  const { arch, weights } = unpackModelPackage(pkg);
  const { files } = assembleModelPackage({
    name: "merged", arch, weights: mergeAdapters(arch, weights, adapters), format, source: { kind: "merged", base: "test", base_hash: pkg.hash, adapters: [] },
    tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: pkg.generationConfig,
  });
  const merged = await createEngine(await loadModelPackage(async (p) => files[p]!));
  const got = (await merged.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
  const baseLogits = (await engine.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
  return { err: relL2(got, unmerged), effect: relL2(unmerged, baseLogits) };
}

describe("merge mode", () => {
  it("unpacking a package and building it again gives the same logits (fp32)", async () => {
    const pkg = await packageOf(config, base, "fp32");
    const { arch, weights } = unpackModelPackage(pkg);
    const { files } = assembleModelPackage({ name: "again", arch, weights, format: "fp32", source: { kind: "random", seed: 0 }, tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: {} });
    const a = (await (await createEngine(pkg)).forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
    const b = (await (await createEngine(await loadModelPackage(async (p) => files[p]!))).forward(TOKENS, { logitsToKeep: TOKENS.length })).logits;
    expect(b).toEqual(a);
  });

  it("one adapter merged (fp32) equals the unmerged path within rel L2 1e-5", async () => {
    const { err, effect } = await mergedVsUnmerged("fp32", [{ dir: adapterDir(1, ALL), weight: 1 }]);
    expect(err).toBeLessThan(1e-5);
    expect(effect).toBeGreaterThan(1e-2);
  });

  it("a weighted set of two adapters merged (fp32) equals their composition within 1e-5", async () => {
    const { err } = await mergedVsUnmerged("fp32", [{ dir: adapterDir(2, ["q_proj", "down_proj"]), weight: 0.7 }, { dir: adapterDir(3, ["v_proj", "up_proj"], { use_rslora: true }), weight: -0.4 }]);
    expect(err).toBeLessThan(1e-5);
  });

  it("a DoRA adapter merged (fp32) equals the DoRA graph within 1e-5", async () => {
    const { err, effect } = await mergedVsUnmerged("fp32", [{ dir: adapterDir(4, ALL, { use_dora: true }), weight: 1 }]);
    expect(err).toBeLessThan(1e-5);
    expect(effect).toBeGreaterThan(1e-2);
  });

  it("merged and re-quantized to int8 stays within 1e-1 of the unmerged int8 path", async () => {
    // each path carries its own int8 error (≤ 5e-2 against float64, tested elsewhere): the merged
    // weights are rounded again, and activations are quantized per tensor in both
    const { err } = await mergedVsUnmerged("int8", [{ dir: adapterDir(5, ALL), weight: 1 }]);
    expect(err).toBeLessThan(1e-1);
  });
});
