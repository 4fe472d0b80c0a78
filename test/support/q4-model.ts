/**
 * A small model as a GGUF like SmolLM2's holds it, made in the test: the demo architecture's seeded
 * random weights with every projection quantized to Q4_1 blocks and the (tied) embedding to Q8_0,
 * by an encoder written here after llama.cpp's `quantize_row_q4_1_ref` / `quantize_row_q8_0_ref`.
 * The builder's own GGUF code then reads those blocks (`dequantizeGguf`, `carryBlocks`), so two
 * packages of it come out as they do for SmolLM2: fp32 (the dequantized values) and int4 (the
 * blocks carried into MatMulNBits). Both are lossless and share a base identity.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { carryBlocks } from "../../src/builder/gguf-checkpoint.ts";
import { dequantizeGguf } from "../../src/builder/gguf-quants.ts";
import type { GgufTensor } from "../../src/builder/gguf.ts";
import { hfLinearName, type HfWeights } from "../../src/builder/llama-graph.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { PRESETS } from "../../src/builder/presets.ts";
import type { Int4Weight } from "../../src/builder/quantize.ts";
import { randomLlamaWeights } from "../../src/builder/random-weights.ts";
import { PROJECTIONS, projectionShape, type Architecture, type WeightFormat } from "../../src/runtime/manifest.ts";
import { f32ToF16 } from "../reference/half.ts";

const DEMO = fileURLToPath(new URL("../../models/demo/", import.meta.url));
// tied like SmolLM2, so the carried Q8_0 table serves both the embedding and lm_head
export const Q4_ARCH: Architecture = { family: "llama", model_type: "llama", ...PRESETS.demo!, tie_word_embeddings: true };

/** Q4_1 blocks of 32 (`[d f16, m f16, 16 bytes]`): q = round((x − min)/d), d = (max − min)/15; value j low nibble, j+16 high. */
export function quantizeQ4_1(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 20);
  const v = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    const blk = x.subarray(b * 32, b * 32 + 32);
    let min = Infinity;
    let max = -Infinity;
    for (const t of blk) [min, max] = [Math.min(min, t), Math.max(max, t)];
    const d = (max - min) / 15;
    const id = d ? 1 / d : 0;
    v.setUint16(b * 20, f32ToF16(d), true);
    v.setUint16(b * 20 + 2, f32ToF16(min), true);
    for (let j = 0; j < 16; j++) {
      const q = (t: number) => Math.min(15, Math.trunc((t - min) * id + 0.5));
      out[b * 20 + 4 + j] = q(blk[j]!) | (q(blk[j + 16]!) << 4);
    }
  }
  return out;
}

/** Q8_0 blocks of 32 (`[d f16, 32 × int8]`): d = max|x|/127, q = round(x/d). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34);
  const v = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    const blk = x.subarray(b * 32, b * 32 + 32);
    const amax = blk.reduce((a, t) => Math.max(a, Math.abs(t)), 0);
    const d = amax / 127;
    v.setUint16(b * 34, f32ToF16(d), true);
    for (let j = 0; j < 32; j++) v.setInt8(b * 34 + 2 + j, d ? Math.round(blk[j]! / d) : 0);
  }
  return out;
}

export type Q4Checkpoint = { weights: HfWeights; blocks: Map<string, Int4Weight>; sha256: string };

/**
 * The quantized checkpoint: dequantized weights (what fp32 serves), carried blocks, and a content
 * hash standing for the file's. The embedding is scaled to `embedStd` (default 0.1): at the builder's
 * std 1 a tied head sees the last token's own row in the residual stream and repeats it forever.
 */
export function q4Checkpoint(seed = 7, embedStd = 0.1): Q4Checkpoint {
  const arch = Q4_ARCH;
  const floats = randomLlamaWeights(arch, seed);
  const embed = floats.get("model.embed_tokens.weight")!;
  for (let i = 0; i < embed.length; i++) embed[i]! *= embedStd;
  const weights: HfWeights = new Map(floats);
  const blocks = new Map<string, Int4Weight>();
  const hash = createHash("sha256");
  const quantized = (name: string, type: "Q4_1" | "Q8_0", dims: [number, number]) => {
    const data = (type === "Q4_1" ? quantizeQ4_1 : quantizeQ8_0)(floats.get(name)!);
    const t: GgufTensor = { name, type, dims, data };
    weights.set(name, dequantizeGguf(t));
    blocks.set(name, carryBlocks(t)!);
    hash.update(name).update(data);
  };
  quantized("model.embed_tokens.weight", "Q8_0", [arch.hidden_size, arch.vocab_size]);
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const p of PROJECTIONS) {
      const s = projectionShape(arch, p);
      quantized(hfLinearName(l, p), "Q4_1", [s.in, s.out]); // GGUF dims: [ne0 = in, ne1 = out]
    }
  }
  return { weights, blocks, sha256: hash.digest("hex") };
}

/**
 * One package of the checkpoint: `fp32` serves the dequantized values, `int4` carries the blocks,
 * `int4-requantized` re-quantizes the floats (lossy), `int8` is the demo's format. The demo's
 * tokenizer; files in memory. `generation` adds fields to its generation_config.json.
 */
export function q4Package(ckpt: Q4Checkpoint, format: WeightFormat | "int4-requantized", o: { batch?: boolean; sha256?: string; int4Activations?: "fp32" | "block"; generation?: Record<string, unknown> } = {}) {
  const f = format === "int4-requantized" ? "int4" : format;
  return assembleModelPackage({
    name: "demo-q4",
    arch: Q4_ARCH,
    weights: ckpt.weights,
    format: f,
    ...(format === "int4" ? { carried: ckpt.blocks } : {}),
    ...(o.batch ? { batch: true } : {}),
    ...(o.int4Activations ? { int4Activations: o.int4Activations } : {}),
    source: { kind: "gguf", name: "demo-q4", sha256: o.sha256 ?? ckpt.sha256, tensor_types: { Q8_0: 1, Q4_1: Q4_ARCH.num_hidden_layers * 7 } },
    tokenizerJson: JSON.parse(readFileSync(`${DEMO}tokenizer.json`, "utf8")),
    tokenizerConfig: JSON.parse(readFileSync(`${DEMO}tokenizer_config.json`, "utf8")),
    generationConfig: { ...JSON.parse(readFileSync(`${DEMO}generation_config.json`, "utf8")), ...o.generation },
  });
}
