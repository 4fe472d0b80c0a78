/**
 * SmoothQuant-style smoothing for the int8 format (Xiao et al., 2023): activations of real models
 * have a few input channels far larger than the rest (SmolLM2's `down_proj` inputs reach ~236× their
 * RMS), and the per-tensor activation quantization of `DynamicQuantizeMatMul` then rounds every other
 * channel to a handful of levels. Dividing channel j by `s_j` before quantizing and multiplying the
 * weight's row j by `s_j` (llama-graph.ts, `GraphOptions.smooth`) is exact in real arithmetic and
 * moves the outliers into the weights, where per-column scales absorb them.
 *
 * `s_j = max|x_j|^α / max|W_j|^(1-α)`, with `max|x_j|` measured by running the fp32 graph over
 * calibration text (ORT in Node) and `max|W_j|` over the row of the group's fused weight.
 */
import { buildLlamaGraph, fusedGroupWeight, type HfWeights, type SmoothScales } from "./llama-graph.ts";
import { DEFAULT_CORPUS } from "./corpus.ts";
import { createSession, initOrt, ort } from "../runtime/ort.ts";
import { cacheDims, groupLayout, io, LORA_GROUPS, type Architecture } from "../runtime/manifest.ts";
import { createTokenizer, type TokenizerFiles } from "../runtime/tokenizer.ts";

/**
 * Calibration text: the builder's own corpus (customer service, sales, technical support), its
 * paragraphs as alternating user and assistant turns rendered with the model's chat template, cut
 * into sequences of about `tokensPerSequence`.
 *
 * @example const seqs = calibrationSequences(ckpt, 4, 512);
 */
export function calibrationSequences(files: TokenizerFiles, count: number, tokensPerSequence: number): number[][] {
  const tok = createTokenizer(files);
  const paragraphs = DEFAULT_CORPUS.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  const out: number[][] = [];
  let messages: { role: string; content: string }[] = [];
  for (let i = 0; i < paragraphs.length && out.length < count; i++) {
    messages.push({ role: messages.length % 2 ? "assistant" : "user", content: paragraphs[i]! });
    const { ids } = tok.applyChatTemplate(messages, { addGenerationPrompt: false });
    if (ids.length >= tokensPerSequence) {
      out.push(ids.slice(0, tokensPerSequence));
      messages = [];
    }
  }
  return out;
}

/** Per-channel max |activation| of each group's input, keyed `layers.{l}.{group}` (and `lm_head`). */
export type ActivationRanges = Map<string, Float32Array>;

/**
 * Run the fp32 graph with taps on `sequences` (token ids; each one prefilled from an empty cache)
 * and record each projection group's per-channel input range.
 *
 * @example const ranges = await calibrateActivations(arch, weights, [ids1, ids2]);
 */
export async function calibrateActivations(arch: Architecture, weights: HfWeights, sequences: readonly number[][], onSequence?: (done: number, total: number) => void): Promise<ActivationRanges> {
  const { model, weights: blob } = buildLlamaGraph(arch, weights, { format: "fp32", lora: false, taps: true }).serialize({ weightsPath: "model.weights" });
  await initOrt();
  const session = await createSession(model, { path: "model.weights", data: blob });
  const ranges: ActivationRanges = new Map();
  try {
    for (const [i, ids] of sequences.entries()) {
      const feeds: Record<string, ort.Tensor> = {
        [io.inputIds]: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
        [io.logitsToKeep]: new ort.Tensor("int64", BigInt64Array.of(1n), [1]),
      };
      for (let l = 0; l < arch.num_hidden_layers; l++) {
        feeds[io.pastKey(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
        feeds[io.pastValue(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
      }
      const out = await session.run(feeds);
      const record = (key: string, x: Float32Array, K: number) => {
        const r = ranges.get(key) ?? new Float32Array(K);
        for (let t = 0; t < x.length; t++) r[t % K] = Math.max(r[t % K]!, Math.abs(x[t]!));
        ranges.set(key, r);
      };
      record("lm_head", out["tap.lm_head"]!.data as Float32Array, arch.hidden_size);
      for (let l = 0; l < arch.num_hidden_layers; l++) {
        for (const { name: group } of LORA_GROUPS) {
          record(`layers.${l}.${group}`, out[`tap.${l}.${group}`]!.data as Float32Array, groupLayout(arch, group).in); // [S, K]
        }
      }
      onSequence?.(i + 1, sequences.length);
    }
  } finally {
    await session.release();
  }
  return ranges;
}

/**
 * Smoothing scales from activation ranges and the weights: `s_j = a_j^α / w_j^(1-α)`, 1 where a
 * channel never fired or its weight row is zero.
 *
 * @example const smooth = smoothingScales(arch, weights, ranges, 0.5); buildLlamaGraph(arch, weights, { format: "int8", smooth })
 */
export function smoothingScales(arch: Architecture, weights: HfWeights, ranges: ActivationRanges, alpha: number): SmoothScales {
  const scales: SmoothScales = new Map();
  /** max over n of |w[k·kStride + n·nStride]|: the weights input channel k multiplies */
  const scalesFor = (range: string, w: Float32Array, K: number, N: number, kStride: number, nStride: number) => {
    const a = ranges.get(range);
    if (!a) throw new Error(`no activation range for ${range}`);
    const s = new Float32Array(K);
    for (let k = 0; k < K; k++) {
      let wmax = 0;
      for (let n = 0; n < N; n++) wmax = Math.max(wmax, Math.abs(w[k * kStride + n * nStride]!));
      s[k] = a[k]! > 0 && wmax > 0 ? Math.pow(a[k]!, alpha) / Math.pow(wmax, 1 - alpha) : 1;
    }
    return s;
  };
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const { name: group } of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(arch, group);
      scales.set(`layers.${l}.${group}.weight`, scalesFor(`layers.${l}.${group}`, fusedGroupWeight(arch, weights, l, group), K, N, N, 1));
    }
  }
  // lm_head: the HF weight is [V, d], input channel k is column k
  const head = weights.get(arch.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  if (!head) throw new Error("missing lm_head weight");
  scales.set("lm_head", scalesFor("lm_head", head, arch.hidden_size, arch.vocab_size, 1, arch.hidden_size));
  return scales;
}
