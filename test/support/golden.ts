/**
 * The golden fixtures of training/make_golden.py, loaded for lora-edge: the converted checkpoint as
 * an engine, each PEFT adapter as prepared feeds, and PEFT's logits and greedy tokens to compare.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readHfCheckpoint } from "../../src/builder/hf-checkpoint.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { createEngine } from "./backend.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { loadPeftAdapter } from "../../src/adapters/load-peft.ts";
import { prepareAdapter } from "../../src/adapters/prepare.ts";
import { composeAdapters } from "../../src/adapters/compose.ts";
import { parseSafetensors, toFloat32 } from "../../src/adapters/safetensors.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { relL2 } from "../reference/llama64.ts";

export const GOLDEN_ROOT = fileURLToPath(new URL("../fixtures/golden/", import.meta.url));
export const GOLDEN_MODELS = ["llama", "qwen2"] as const;
export const GOLDEN_VARIANTS = ["base", "lora", "rslora", "pattern", "layers", "dora"] as const;

type GoldenJson = {
  sequences: number[][];
  max_new_tokens: number;
  variants: Record<string, { adapter: string | null; logits: string[]; greedy: number[][] }>;
};

export async function loadGolden(model: string) {
  const dir = `${GOLDEN_ROOT}${model}/`;
  const golden = JSON.parse(readFileSync(`${dir}golden.json`, "utf8")) as GoldenJson;
  const logits = parseSafetensors(new Uint8Array(readFileSync(`${dir}golden.safetensors`)));
  const ckpt = readHfCheckpoint(`${dir}model`);
  const { files } = assembleModelPackage({
    name: `golden-${model}`, arch: ckpt.arch, weights: ckpt.weights, format: "fp32", dora: true,
    source: { kind: "huggingface", architectures: ckpt.architectures, dtype: ckpt.dtype, weights_sha256: "0".repeat(64) },
    tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
  });
  const engine = await createEngine(await loadModelPackage(async (p) => files[p]!));
  const arch = engine.manifest.architecture;

  const baseWeight = await engine.baseWeights();
  /** A golden PEFT adapter, loaded, validated and prepared as the registry would. */
  const feedsFor = (adapterDir: string): LoraFeeds => {
    const peft = loadPeftAdapter(
      { config: readFileSync(`${dir}${adapterDir}/adapter_config.json`), weights: new Uint8Array(readFileSync(`${dir}${adapterDir}/adapter_model.safetensors`)) },
      arch,
      { maxRank: engine.manifest.lora.max_rank },
    );
    return composeAdapters(arch, [{ adapter: prepareAdapter(peft, arch, { baseWeight }), weight: 1 }]);
  };

  /** Worst relative L2 error over the sequences, and lora-edge's greedy tokens next to PEFT's. */
  const compare = async (variant: string) => {
    const v = golden.variants[variant]!;
    const lora = v.adapter ? feedsFor(v.adapter) : undefined;
    let worst = 0;
    const greedy: { got: number[]; want: number[] }[] = [];
    for (const [i, seq] of golden.sequences.entries()) {
      const got = (await engine.forward(seq, { logitsToKeep: seq.length, ...(lora ? { lora } : {}) })).logits;
      worst = Math.max(worst, relL2(got, toFloat32(logits.get(v.logits[i]!)!)));
      const ids: number[] = [];
      const events = engine.generate({ promptIds: seq, maxTokens: golden.max_new_tokens, sampling: { temperature: 0, topK: 0, topP: 1, seed: 0 }, stopTokenIds: [], ...(lora ? { lora } : {}) });
      for await (const ev of events) if (ev.type === "token") ids.push(ev.id);
      greedy.push({ got: ids, want: v.greedy[i]! });
    }
    return { relL2: worst, greedy };
  };
  return { engine, golden, compare };
}
