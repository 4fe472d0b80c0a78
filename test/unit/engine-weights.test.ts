/**
 * An engine created with `rereadWeights` (as the Worker creates it) lets the package's weights go
 * once ORT has them: plain requests never read them again, DoRA reads them when it needs them, and
 * every output equals an engine that holds the weights.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomHfWeights, randomPeftTensors, writePeftAdapter, type ProjectionName } from "../reference/hf-checkpoint.ts";
import type { HfConfig } from "../reference/llama64.ts";
import { packageOf } from "../support/models.ts";
import { createEngine } from "../support/backend.ts";
import { loadPeftAdapter } from "../../src/adapters/load-peft.ts";
import { prepareAdapter } from "../../src/adapters/prepare.ts";
import { composeAdapters } from "../../src/adapters/compose.ts";

const config: HfConfig = {
  vocab_size: 320, hidden_size: 64, intermediate_size: 112, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 50_000, rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false, max_position_embeddings: 64,
};
const base = randomHfWeights(config, 21, 0.15);
const TOKENS = [3, 141, 59, 26, 5, 35, 89, 79];
const TARGETS: ProjectionName[] = ["q_proj", "v_proj", "down_proj"];

function doraFiles() {
  const dir = mkdtempSync(join(tmpdir(), "lora-edge-dora-"));
  writePeftAdapter(dir, { r: 4, lora_alpha: 8, target_modules: TARGETS, use_dora: true }, randomPeftTensors(config, { r: 4, targets: TARGETS, seed: 4, base }), "F32");
  return { config: readFileSync(join(dir, "adapter_config.json")), weights: new Uint8Array(readFileSync(join(dir, "adapter_model.safetensors"))) };
}

describe("an engine that rereads its weights", () => {
  it("holds no weights in JS, reads them only for DoRA, and answers exactly as an engine that holds them", async () => {
    const pkg = await packageOf(config, base, "int8", { dora: true });
    let reads = 0;
    const lean = await createEngine(pkg, { rereadWeights: async () => (reads++, pkg.weights.slice()) });
    const held = await createEngine(pkg);
    expect(lean.memory().packageBytes).toBe(pkg.doraGraph!.byteLength);
    expect(held.memory().packageBytes).toBe(pkg.doraGraph!.byteLength + pkg.weights.byteLength);

    // plain requests never read the weights
    expect((await lean.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits).toEqual((await held.forward(TOKENS, { logitsToKeep: TOKENS.length })).logits);
    expect(reads).toBe(0);

    // DoRA preparation reads them once; the DoRA session reads them once, on its first use
    const arch = pkg.manifest.architecture;
    const peft = loadPeftAdapter(doraFiles(), arch);
    const prepared = prepareAdapter(peft, arch, { baseWeight: await lean.baseWeights() });
    expect(reads).toBe(1);
    expect(prepared).toEqual(prepareAdapter(peft, arch, { baseWeight: await held.baseWeights() }));
    const lora = composeAdapters(arch, [{ adapter: prepared, weight: 1 }]);
    expect(lora.dora).toBe(true);
    const first = (await lean.forward(TOKENS, { lora, logitsToKeep: TOKENS.length })).logits;
    expect(reads).toBe(2);
    const again = (await lean.forward(TOKENS, { lora, logitsToKeep: TOKENS.length })).logits;
    expect(reads).toBe(2);
    const reference = (await held.forward(TOKENS, { lora, logitsToKeep: TOKENS.length })).logits;
    expect(first).toEqual(reference);
    expect(again).toEqual(reference);
  });

  it("a failed reread fails that DoRA request only; the next one reads again", async () => {
    const pkg = await packageOf(config, base, "int8", { dora: true });
    let fail = true;
    const lean = await createEngine(pkg, {
      rereadWeights: async () => {
        if (fail) throw new Error("assets unavailable");
        return pkg.weights.slice();
      },
    });
    const held = await createEngine(pkg);
    const arch = pkg.manifest.architecture;
    const lora = composeAdapters(arch, [{ adapter: prepareAdapter(loadPeftAdapter(doraFiles(), arch), arch, { baseWeight: await held.baseWeights() }), weight: 1 }]);
    await expect(lean.forward(TOKENS, { lora })).rejects.toThrow("assets unavailable");
    fail = false;
    expect((await lean.forward(TOKENS, { lora })).logits).toEqual((await held.forward(TOKENS, { lora })).logits);
  });
});
