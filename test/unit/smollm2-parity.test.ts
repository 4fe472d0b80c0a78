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
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { compareQuality } from "../../bench/quality.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { createTokenizer, type ChatMessage, type ChatTokenizer } from "../../src/runtime/tokenizer.ts";
import { relL2 } from "../reference/llama64.ts";

const QUALITY_POSITIONS = 300;
/** what the block format holds today (these 327 positions: 0.050, 96.0 %, −0.9 %; 1,018: 0.047, 94.7 %, −1.3 %); #11 asks 0.03 and 98 % (bench/results/smollm2-int8.md) */
const INT8_L2 = 0.07;
const INT8_TOP1 = 0.92;
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

  it("int4 package carrying the GGUF's Q4_1 and Q8_0 blocks: logits within 1e-5 relative L2 of transformers' dequantized model, as browsers run it (WASM) and as the Node host does (Q8_0 in 4-bit halves, onnxruntime-node)", async () => {
    const V = ckpt.arch.vocab_size;
    for (const splitEightBit of [false, true]) {
      const { files, manifest } = assembleModelPackage({
        name: "smollm2-int4", arch: { ...ckpt.arch, max_position_embeddings: 512 }, weights: ckpt.weights, format: "int4", carried: ckpt.blocks, splitEightBit,
        source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
        tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
      });
      expect(manifest.quantization.scheme).toMatch(/carried from the GGUF/);
      expect(manifest.quantization.lossless).toBe(true);
      expect(manifest.weights_index["embed_tokens.q"]).toBeUndefined(); // one table: lm_head's Q8_0 blocks
      expect(manifest.weights_index["layers.0.gate_up.weight.zeros"]).toBeUndefined(); // default zero points: the fast kernels' layout
      expect(manifest.weights_index["layers.0.gate_up.weight.offsets"]).toBeDefined(); // Q4_1 minimums
      expect(manifest.weights_index["lm_head.q4"]!.dims).toEqual(splitEightBit ? [V, 36, 16] : [V, 18, 32]);
      const pkg = await loadModelPackage(async (p) => files[p]!, { verify: false });
      const engine = splitEightBit ? await Engine.create(pkg, { backend: nodeBackend({ threads: 1 }) }) : await Engine.create(pkg);
      for (const [i, p] of golden.prompts.entries()) {
        const { logits } = await engine.forward(p.ids, { logitsToKeep: 1 });
        expect(relL2(logits, lastLogits.subarray(i * V, (i + 1) * V))).toBeLessThan(1e-5);
      }
    }
  }, 600_000);

  it(`int8 in blocks of 32 on onnxruntime-node holds the fp32 package's logits on ${QUALITY_POSITIONS}+ held-out chat positions: relative L2 < ${INT8_L2}, top-1 ≥ ${INT8_TOP1 * 100} %, perplexity within 3 %`, async () => {
    // a subset of `npm run bench:quality` (bench/results/smollm2-int8.md has the full ≥ 1,000 positions)
    const build = (format: "fp32" | "int8") => assembleModelPackage({
      name: `smollm2-${format}`, arch: { ...ckpt.arch, max_position_embeddings: 512 }, weights: ckpt.weights, format, ...(format === "int8" ? { int8Activations: "block" as const } : {}),
      source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
      tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
    }).files;
    const engineOf = async (files: Record<string, Uint8Array>) => Engine.create(await loadModelPackage(async (p) => files[p]!, { verify: false }), { backend: nodeBackend({ threads: 1 }) });
    const [q] = await compareQuality(await engineOf(build("fp32")), [await engineOf(build("int8"))], QUALITY_POSITIONS);
    expect(q!.positions).toBeGreaterThanOrEqual(QUALITY_POSITIONS);
    expect(q!.rel_l2).toBeLessThan(INT8_L2);
    expect(q!.top1_agreement).toBeGreaterThanOrEqual(INT8_TOP1);
    expect(Math.abs(q!.perplexity / q!.ref_perplexity - 1)).toBeLessThan(0.03);
  }, 900_000);
});
