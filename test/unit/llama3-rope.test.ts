/**
 * `--from-hf` on a transformers 5 checkpoint of a Llama 3.x-style model (training/make_llama3_golden.py):
 * RoPE with `rope_type: "llama3"` scaling and the chat template in chat_template.jinja.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readHfCheckpoint } from "../../src/builder/hf-checkpoint.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import type { Architecture } from "../../src/runtime/manifest.ts";
import { Engine } from "../../src/runtime/engine.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { relL2 } from "../reference/llama64.ts";

const dir = fileURLToPath(new URL("../fixtures/llama3/", import.meta.url));
const golden = JSON.parse(readFileSync(`${dir}golden.json`, "utf8")) as { ids: number[]; logits_f32_base64: string; chat: string };
const want = (() => {
  const b = Buffer.from(golden.logits_f32_base64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
})();

async function logitsOf(arch: Architecture, ckpt: ReturnType<typeof readHfCheckpoint>) {
  const { files } = assembleModelPackage({
    name: "llama3", arch, weights: ckpt.weights, format: "fp32",
    source: { kind: "huggingface", architectures: ckpt.architectures, dtype: ckpt.dtype, weights_sha256: "0".repeat(64) },
    tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
  });
  const engine = await Engine.create(await loadModelPackage(async (p) => files[p]!));
  return { engine, logits: (await engine.forward(golden.ids, { logitsToKeep: golden.ids.length })).logits };
}

describe("Llama 3 checkpoint from transformers 5", () => {
  const ckpt = readHfCheckpoint(`${dir}model`);

  it("reads rope_parameters' llama3 scaling into the architecture", () => {
    expect(ckpt.arch.rope_scaling).toEqual({ rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 });
  });

  it("gives transformers' logits within 1e-5 relative L2 at 48 positions, three times the original context; plain RoPE would not", async () => {
    const { engine, logits } = await logitsOf(ckpt.arch, ckpt);
    expect(relL2(logits, want)).toBeLessThan(1e-5);
    const { rope_scaling: _, ...plain } = ckpt.arch;
    expect(relL2((await logitsOf(plain, ckpt)).logits, want)).toBeGreaterThan(1e-2);
    // the chat template came from chat_template.jinja: the engine renders transformers' prompt
    expect(engine.tokenizer.applyChatTemplate([{ role: "user", content: "hi" }], { addGenerationPrompt: true }).text).toBe(golden.chat);
  });
});
