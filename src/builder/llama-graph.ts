/**
 * The ONNX graph of a Llama-family decoder with LoRA inputs on every projection (contract 2).
 *
 * Batch is 1 and every activation is 2-D `[S, d]`, so each LoRA side path is two nodes:
 * `xa = MatMul(x, A)` and `y = Gemm(xa, B, y_base)` (Gemm adds the base output as C). Projections
 * that read the same activation are fused (q|k|v, gate|up): one base MatMul and one side path per
 * group. Rank 0 feeds make the side path an exact no-op (Gemm with K = 0 returns C unchanged).
 *
 * The batched variant (`batch: true`, src/builder/batch-graph.ts) differs in four places only:
 * positions and the attention mask come from inputs (a ragged cache of many rows, which the graph
 * reads and the host appends to: `present` is only the new columns), LoRA runs per row, int8
 * activations are quantized per token, and logits are each row's last position.
 *
 * Reads like the math (llama2.c's run.c), one block per step.
 */
import { GraphBuilder, type ElemType } from "./onnx.ts";
import { attentionShapes, batchPositionsAndMask, lastPositionRows, perRowAttention, perRowLora } from "./batch-graph.ts";
import { offsetToUint8, quantizeInt4, quantizeInt8, quantizeInt8Blocks, quantizeRowsInt8, splitNibbles, type Int4Weight } from "./quantize.ts";
import { groupLayout, io, LORA_GROUPS, type Architecture, type LoraGroupName, type Projection, type WeightFormat } from "../runtime/manifest.ts";

/** Hugging Face tensor names → float32 data in HF layout (`nn.Linear` weights are `[out, in]`). */
export type HfWeights = Map<string, Float32Array>;

export type GraphOptions = {
  format: WeightFormat;
  /** Emit per-group DoRA output-scale inputs (the DoRA graph variant). */
  dora?: boolean;
  /** Block size for int4. */
  blockSize?: number;
  /** false: no LoRA inputs at all (the plain base graph, for bit-identity checks and benchmarks). */
  lora?: boolean;
  /**
   * int8 (per tensor, row or block): per-input-channel smoothing scales `s` `[in]` by weight name (`layers.{l}.{group}.weight`, `lm_head`).
   * The base path computes `(x / s) · (diag(s) · W)`, exactly `x · W` in real arithmetic, but the
   * activation quantized per tensor has its outlier channels divided down (SmoothQuant) while the
   * per-column weight quantization absorbs `s`. The LoRA side path still reads `x`.
   */
  smooth?: SmoothScales;
  /**
   * int8 only: how activations are quantized at run time. "tensor" (default): one scale for the
   * whole `[S, in]` input, `DynamicQuantizeMatMul`, one node. "row": one scale per token, computed in
   * the graph (max|x| per row, Round, Cast, `MatMulIntegerToFloat`, rescale): a token with huge
   * activations (the first one, typically) no longer coarsens every other token of a prefill.
   * "block": weights in blocks of 32 along the input with a scale each (`quantizeInt8Blocks`),
   * `MatMulNBits` with accuracy_level 4, which quantizes the activations per row and block of 32:
   * an outlier channel coarsens only its own block. Fast in onnxruntime-node (MLAS int8 kernels);
   * onnxruntime-web's WASM build has no such kernel and dequantizes the weights on every run.
   */
  int8Activations?: "tensor" | "row" | "block";
  /**
   * int8 per tensor or row: products wider than this many columns run as blocks of it, side by side
   * (default `INT8_COLUMN_BLOCK`, why there); 0: every product whole (tests compare the two).
   */
  int8ColumnBlock?: number;
  /**
   * int4: `"fp32"` (default) dequantizes the blocks and computes in float32 — exact for a GGUF's
   * carried blocks; `"block"` quantizes the activations per row and block of 32 to int8 in the kernel
   * (`accuracy_level` 4, llama.cpp's arithmetic for Q4 × Q8): faster on onnxruntime-node, not exact.
   */
  int4Activations?: "fp32" | "block";
  /**
   * int4 computing in fp32: carry 8-bit blocks (a GGUF's Q8_0 embedding) as two 4-bit halves.
   * onnxruntime-node has no fp32-compute kernel for 8-bit blocks (SmolLM2's lm_head: 156 ms a step
   * as 8-bit, 8.8 ms as halves, fp32 9.3 ms); onnxruntime-web runs 8-bit faster than halves
   * (121 vs 298 ms in WASM). `npm run bench:kernels`.
   */
  splitEightBit?: boolean;
  /**
   * int4 only: weights already in MatMulNBits' layout, by HF name (`model.layers.{l}.mlp.up_proj.weight`,
   * `model.embed_tokens.weight`, `lm_head.weight`), e.g. a GGUF's Q4_1/Q8_0 blocks (gguf-checkpoint.ts),
   * used as they are instead of quantizing the float weights: the package then serves the file's exact values.
   */
  carried?: Map<string, Int4Weight>;
  /** The batched variant: rows with their own adapters, positions and caches (src/builder/batch-graph.ts); int8 activations per row. */
  batch?: boolean;
  /** Expose each projection group's input as an output `tap.{l}.{group}` `[S, in]`, and lm_head's as `tap.lm_head` (calibration). */
  taps?: boolean;
};

/** Smoothing scales `[in]` per linear weight name; see `GraphOptions.smooth`. */
export type SmoothScales = Map<string, Float32Array>;

/** Where each base weight lives in the external weights blob (for DoRA preparation and tests). */
export type WeightIndexEntry = { name: string; offset: number; bytes: number; dtype: ElemType; dims: number[] };

/** `[out, in]` HF weights of a group's projections → fused graph weight `[in, Σ out]`. */
export function fusedGroupWeight(arch: Architecture, w: HfWeights, layer: number, group: LoraGroupName): Float32Array {
  const { in: K, out: N, columns } = groupLayout(arch, group);
  const fused = new Float32Array(K * N);
  for (const [proj, [c0, c1]] of Object.entries(columns) as [Projection, [number, number]][]) {
    const src = need(w, hfLinearName(layer, proj));
    const outP = c1 - c0;
    for (let o = 0; o < outP; o++) for (let k = 0; k < K; k++) fused[k * N + c0 + o] = src[o * K + k]!;
  }
  return fused;
}

export function hfLinearName(layer: number, proj: Projection): string {
  const block = proj === "gate_proj" || proj === "up_proj" || proj === "down_proj" ? "mlp" : "self_attn";
  return `model.layers.${layer}.${block}.${proj}.weight`;
}

function need(w: HfWeights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`missing weight ${name}`);
  return t;
}

/** `[n, m]` → `[m, n]` */
function transpose(a: Float32Array, n: number, m: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) t[j * n + i] = a[i * m + j]!;
  return t;
}

/**
 * RoPE inverse frequencies `[hd/2]`, in float32 as transformers computes them, with Llama 3's
 * scaling when the architecture has it: wavelengths longer than `original / low_freq_factor` are
 * slowed by `factor`, shorter than `original / high_freq_factor` kept, and those between blended.
 */
export function ropeInvFreq(arch: Architecture): Float32Array {
  const f = Math.fround;
  const hd = arch.head_dim;
  const inv = Float32Array.from({ length: hd / 2 }, (_, j) => 1 / Math.pow(arch.rope_theta, (2 * j) / hd));
  const sc = arch.rope_scaling;
  if (!sc) return inv;
  const lowWavelen = sc.original_max_position_embeddings / sc.low_freq_factor;
  const highWavelen = sc.original_max_position_embeddings / sc.high_freq_factor;
  return inv.map((w) => {
    const wavelen = f((2 * Math.PI) / w);
    if (wavelen < highWavelen) return w;
    if (wavelen > lowWavelen) return f(w / sc.factor);
    const smooth = f(f(f(sc.original_max_position_embeddings / wavelen) - sc.low_freq_factor) / (sc.high_freq_factor - sc.low_freq_factor));
    return f(f(f(f(1 - smooth) * w) / sc.factor) + f(smooth * w));
  });
}

/** Rotary tables `[maxPos, hd/2]`: HF's `emb = cat(freqs, freqs)` is this half twice. */
function ropeTables(arch: Architecture) {
  const half = arch.head_dim / 2;
  const invFreq = ropeInvFreq(arch);
  const cos = new Float32Array(arch.max_position_embeddings * half);
  const sin = new Float32Array(arch.max_position_embeddings * half);
  for (let p = 0; p < arch.max_position_embeddings; p++) {
    for (let j = 0; j < half; j++) {
      // HF computes the angle in float32; match its rounding so long positions agree.
      const angle = Math.fround(p * invFreq[j]!);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** rotate_half as a matrix: `x · R = cat(-x2, x1)`; exact, one MatMul instead of Split/Neg/Concat. */
function rotateHalfMatrix(hd: number): Float32Array {
  const R = new Float32Array(hd * hd);
  const half = hd / 2;
  for (let i = 0; i < half; i++) {
    R[(i + half) * hd + i] = -1;
    R[i * hd + i + half] = 1;
  }
  return R;
}

/**
 * int8 products wider than this run as column blocks of this width, side by side: onnxruntime-web's
 * WASM int8 kernels slow down on wide weights (one `[1, 768] × [768, 4096]` product: 3.2 ms whole,
 * 1.75 ms as four blocks; the demo's whole decode step ~25 % faster, bench/README.md "Wide int8
 * products in column blocks"), natively it makes no difference. The blocks are `Split`s of the one
 * stored weight, which onnxruntime folds into constants when it loads the session: the weights file
 * keeps one `[K, N]` tensor per layer, and the outputs are the whole product's bit for bit.
 */
export const INT8_COLUMN_BLOCK = 1024;

/** Column widths of a weight `N` wide in blocks of `block`: one if it fits (or `block` is 0), else `block`s and the rest. */
function columnBlocks(N: number, block: number): number[] {
  if (!block || N <= block) return [N];
  const widths = Array<number>(Math.floor(N / block)).fill(block);
  if (N % block) widths.push(N % block);
  return widths;
}

/**
 * Build the decoder graph.
 *
 * @example const { model, weights, index } = buildLlamaGraph(arch, hfWeights, { format: "int8" });
 */
export function buildLlamaGraph(arch: Architecture, w: HfWeights, opts: GraphOptions) {
  const g = new GraphBuilder();
  const { hidden_size: d, head_dim: hd, num_attention_heads: H, num_key_value_heads: KV, vocab_size: V } = arch;
  const groupsPerKv = H / KV;
  if (!Number.isInteger(groupsPerKv)) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${KV}`);
  const blockSize = opts.blockSize ?? 32;
  if (opts.batch && opts.dora) throw new Error("the batched graph has no DoRA variant (DoRA requests run unbatched)");

  /**
   * A linear layer's weight `[K, N]` as initializers in the chosen format, and the function that
   * applies it to an `[S, K]` input (with an optional bias). `table` names the stored values and
   * per-column scales, so the tied embedding can gather its rows from lm_head's one table.
   */
  let zero128Name: string | undefined;
  /** uint8 zero point 128, one scalar shared by every per-row int8 layer */
  const zero128 = () => (zero128Name ??= g.initializer("int8.zero_point", Uint8Array.of(128), [], { external: false }));
  const summers = new Map<string, string>();
  /** `[K, blocks]`, 1 where row k is in block b: `x · E` sums x per block. One per input size. */
  const blockSummer = (K: number, blockSize: number) => {
    const key = `${K}x${blockSize}`;
    if (!summers.has(key)) {
      const blocks = Math.ceil(K / blockSize);
      const E = new Float32Array(K * blocks);
      for (let k = 0; k < K; k++) E[k * blocks + Math.floor(k / blockSize)] = 1;
      summers.set(key, g.initializer(`block_sums.${key}`, E, [K, blocks]));
    }
    return summers.get(key)!;
  };
  const linearWeight = (name: string, wKN: Float32Array, K: number, N: number, carried?: Int4Weight, use: { table?: boolean } = {}) => {
    if (opts.format === "fp32") {
      const W = g.initializer(name, wKN, [K, N]);
      const apply = (x: string, bias?: string) => {
        const y = g.op("MatMul", [x, W]);
        return bias ? g.op("Add", [y, bias]) : y;
      };
      return { apply, table: { values: W, scale: undefined, smooth: undefined }, nbits: undefined };
    }
    let smoothBlocks: string | undefined;
    if (opts.format === "int8" && opts.int8Activations === "block") {
      const s = opts.smooth?.get(name);
      if (s) wKN = Float32Array.from(wKN, (v, i) => v * s[Math.floor(i / N)]!);
      carried = quantizeInt8Blocks(wKN, K, N, blockSize);
      smoothBlocks = s ? g.initializer(`${name}.smooth`, s, [K]) : undefined;
    } else if (opts.format === "int8") {
      const s = opts.smooth?.get(name);
      // the weight's rows take s, the input is divided by it: (x / s) · (diag(s) · W) = x · W
      if (s) wKN = Float32Array.from(wKN, (v, i) => v * s[Math.floor(i / N)]!);
      const smooth = s ? g.initializer(`${name}.smooth`, s, [K]) : undefined;
      const { q, scale } = quantizeInt8(wKN, K, N);
      // uint8 with zero point 128 (`offsetToUint8`): exact on every x86 kernel, unlike int8 weights
      const Q = g.initializer(`${name}.q`, offsetToUint8(q), [K, N]);
      const scaleName = g.initializer(`${name}.scale`, scale, [N]);
      const zero = g.initializer(`${name}.zero`, new Uint8Array(N).fill(128), [N]);
      // per row also in the batched graph (its rows must not share a scale)
      const perRow = opts.int8Activations === "row" || opts.batch;
      // a wide product as column blocks side by side (`INT8_COLUMN_BLOCK`), not the table the embedding gathers from
      const widths = use.table ? [N] : columnBlocks(N, opts.int8ColumnBlock ?? INT8_COLUMN_BLOCK);
      const split = (t: string, axis: number) => g.opN("Split", [t, g.i64(widths)], { axis }, { outputs: widths.length });
      const blocks = widths.length > 1 ? { q: split(Q, 1), scale: split(scaleName, 0), zero: split(zero, 0) } : undefined;
      /** `product(q, scale, zero)` over the whole weight, or over each block and concatenated */
      const byBlocks = (product: (q: string, scale: string, zero: string) => string) =>
        blocks ? g.op("Concat", blocks.q.map((q, i) => product(q, blocks.scale[i]!, blocks.zero[i]!)), { axis: 1 }) : product(Q, scaleName, zero);
      const apply = (x: string, bias?: string) => {
        if (smooth) x = g.op("Div", [x, smooth]);
        if (perRow) {
          // per-row (per-token) symmetric int8: r = max|x_row| / 127, xq = round(x / r); y = (xq · q) · r · scale.
          // xq travels as uint8 with zero point 128 (same values): ORT's kernel for an int8 left
          // operand is ~5× slower than its uint8 × int8 one, in WASM and natively (bench/results/smollm2-decode.md)
          const r = g.op("Max", [g.op("Mul", [g.op("ReduceMax", [g.op("Abs", [x])], { axes: [1], keepdims: 1 }), g.f32([1 / 127], [])]), g.f32([1e-30], [])]); // [S, 1]
          const xq = g.op("Cast", [g.op("Add", [g.op("Round", [g.op("Div", [x, r])]), g.f32([128], [])])], { to: 2 }); // uint8
          const y = g.op("Mul", [byBlocks((q, sc, z) => g.op("MatMulIntegerToFloat", [xq, q, g.f32([1], []), sc, zero128(), z], {}, { domain: "com.microsoft" })), r]);
          return bias ? g.op("Add", [y, bias]) : y;
        }
        if (!blocks) return g.op("DynamicQuantizeMatMul", [x, Q, scaleName, zero, ...(bias ? [bias] : [])], {}, { domain: "com.microsoft" });
        // each block quantizes x alike (per tensor, from the same values): the blocks' outputs are the whole product's
        const y = byBlocks((q, sc, z) => g.op("DynamicQuantizeMatMul", [x, q, sc, z], {}, { domain: "com.microsoft" }));
        return bias ? g.op("Add", [y, bias]) : y;
      };
      return { apply, table: { values: Q, scale: scaleName, smooth }, nbits: undefined };
    }
    // int4: a GGUF's own blocks when the checkpoint carries them (exact), else quantized here; int8 blocks
    let q4 = carried ?? quantizeInt4(wKN, K, N, blockSize);
    // int8 blocks and int4 with `int4Activations: "block"`: activations quantized per row and block by
    // the kernel (int8 compute); otherwise int4 computes in fp32
    const int8Compute = opts.format === "int8" || opts.int4Activations === "block";
    const accuracy: Record<string, number> = int8Compute ? { accuracy_level: 4 } : {};
    if (opts.splitEightBit && !int8Compute && q4.bits === 8) q4 = splitNibbles(q4);
    const bits = q4.bits ?? 4;
    const repeats = q4.repeats ?? 1;
    const blocks = Math.ceil(K / q4.blockSize);
    const weights = [
      g.initializer(`${name}.q4`, q4.packed, [N, repeats * blocks, (q4.blockSize * bits) / 8]),
      g.initializer(`${name}.scales`, q4.scales, [N * repeats * blocks]),
      ...(q4.zeros ? [g.initializer(`${name}.zeros`, q4.zeros, [q4.zeros.length])] : []),
    ];
    const offsets = q4.offsets ? g.initializer(`${name}.offsets`, q4.offsets, [N, blocks]) : undefined;
    const apply = (x: string, bias?: string) => {
      if (smoothBlocks) x = g.op("Div", [x, smoothBlocks]);
      const fed = repeats === 2 ? g.op("Concat", [x, x], { axis: 1 }) : x; // the two nibble halves of 8-bit blocks
      const y = g.op("MatMulNBits", [fed, ...weights, ...(bias ? [...(q4.zeros ? [] : [""]), "", bias] : [])], { K: repeats * K, N, bits, block_size: q4.blockSize, ...accuracy }, { domain: "com.microsoft" }); // g_idx unused
      if (!offsets) return y;
      // per-block offsets: y += (x summed per block) · offsetsᵀ, a [S, blocks] × [blocks, N] product;
      // the sums as one MatMul by a 0/1 matrix (one node instead of Reshape + ReduceSum)
      return g.op("Gemm", [g.op("MatMul", [x, blockSummer(K, q4.blockSize)]), offsets, y], { transB: 1 });
    };
    return { apply, table: undefined, nbits: { values: weights[0]!, scales: weights[1]!, bits, blocks, repeats, offsets, blockSize: q4.blockSize, zeros: q4.zeros, smooth: smoothBlocks } };
  };

  /** A group's carried weight: its projections' blocks stacked along N (q | k | v, gate | up), if all are carried alike. */
  const carriedGroup = (layer: number, group: LoraGroupName): Int4Weight | undefined => {
    if (opts.format !== "int4" || !opts.carried) return undefined;
    const parts = LORA_GROUPS.find((x) => x.name === group)!.projections.map((p) => opts.carried!.get(hfLinearName(layer, p)));
    const first = parts[0];
    if (!first || parts.some((p) => !p || p.bits !== first.bits || p.blockSize !== first.blockSize || p.repeats !== first.repeats || (p.zeros instanceof Float32Array) !== (first.zeros instanceof Float32Array) || !p.zeros !== !first.zeros)) return undefined;
    const cat = <T extends Uint8Array | Float32Array>(xs: T[]): T => {
      const out = new (xs[0]!.constructor as new (n: number) => T)(xs.reduce((a, x) => a + x.length, 0));
      let at = 0;
      for (const x of xs) out.set(x, (at += x.length) - x.length);
      return out;
    };
    const all = parts as Int4Weight[];
    return {
      packed: cat(all.map((p) => p.packed)), scales: cat(all.map((p) => p.scales)),
      ...(first.zeros ? { zeros: cat(all.map((p) => p.zeros!)) } : {}),
      // a part without offsets (Q4_0 beside Q4_1) adds zeros
      ...(all.some((p) => p.offsets) ? { offsets: cat(all.map((p) => p.offsets ?? new Float32Array(p.scales.length / (p.repeats ?? 1)))) } : {}),
      ...(first.repeats ? { repeats: first.repeats } : {}),
      K: first.K, N: all.reduce((a, p) => a + p.N, 0), blockSize: first.blockSize, ...(first.bits ? { bits: first.bits } : {}),
    };
  };

  /** One projection group: base + LoRA side path (+ DoRA scale), then bias. */
  const projectGroup = (x: string, layer: number, group: LoraGroupName, bias?: Float32Array): string => {
    const { in: K, out: N } = groupLayout(arch, group);
    if (opts.taps) g.output(x, "float32", ["S", K], `tap.${layer}.${group}`);
    const biasName = bias ? g.initializer(`layers.${layer}.${group}.bias`, bias, [N]) : undefined;
    const fusedBias = opts.dora ? undefined : biasName;
    const base = linearWeight(`layers.${layer}.${group}.weight`, fusedGroupWeight(arch, w, layer, group), K, N, carriedGroup(layer, group)).apply(x, fusedBias);
    if (opts.lora === false) return base;
    // LoRA: y = x·W + (x·A)·B
    const rank = `r_${layer}_${group}`;
    let y: string;
    if (opts.batch) {
      const A = g.input(io.loraA(layer, group), "float32", ["BL", K, rank]);
      y = perRowLora(g, x, base, A, g.input(io.loraB(layer, group), "float32", ["BL", rank, N]), batch!);
    } else {
      const A = g.input(io.loraA(layer, group), "float32", [K, rank]);
      const B = g.input(io.loraB(layer, group), "float32", [rank, N]);
      y = g.op("Gemm", [g.op("MatMul", [x, A]), B, base]);
    }
    if (opts.dora) {
      // DoRA: the adapted output is scaled per output channel before the bias
      y = g.op("Mul", [y, g.input(io.doraScale(layer, group), "float32", [N])]);
      if (biasName) y = g.op("Add", [y, biasName]);
    }
    return y;
  };

  // ---- inputs and run-wide values
  const ids = g.input(io.inputIds, "int64", [opts.batch ? "B" : 1, "S"]);
  const keep = opts.batch ? undefined : g.input(io.logitsToKeep, "int64", [1]);
  const batch = opts.batch ? batchPositionsAndMask(g, ids) : undefined;
  const flatIds = g.op("Reshape", [ids, g.i64([-1])]); // [S]

  // token embedding; tied to lm_head (fp32, int8): one table [d, V], rows gathered as its columns
  const embed = need(w, "model.embed_tokens.weight"); // [V, d]
  // int4 with a carried table (a GGUF's embedding, e.g. Q8_0): MatMulNBits for lm_head, and the embedding gathers its blocks
  const carriedHead = opts.format === "int4" ? opts.carried?.get(arch.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight") : undefined;
  const sharesTable = arch.tie_word_embeddings && (opts.format !== "int4" || (carriedHead !== undefined && !carriedHead.zeros)); // default zero points only
  const head = sharesTable ? linearWeight("lm_head", transpose(embed, V, d), d, V, carriedHead, { table: true }) : undefined;
  let h: string;
  if (head?.nbits) {
    h = gatherBlockRows(g, head.nbits, flatIds, V, d);
    if (head.nbits.smooth) h = g.op("Div", [h, head.nbits.smooth]); // the table holds diag(s)·W
  } else if (head?.table) {
    const { values, scale, smooth } = head.table;
    const cols = g.op("Transpose", [g.op("Gather", [values, flatIds], { axis: 1 })], { perm: [1, 0] }); // [S, d]
    if (!scale) h = cols;
    else {
      const rowScale = g.op("Unsqueeze", [g.op("Gather", [scale, flatIds], { axis: 0 }), g.i64([1])]);
      h = g.op("Mul", [g.op("Sub", [g.op("Cast", [cols], { to: 1 }), g.f32([128], [])]), rowScale]); // uint8 with zero point 128
      if (smooth) h = g.op("Div", [h, smooth]); // the table holds diag(s)·W
    }
  } else if (opts.format === "fp32") {
    h = g.op("Gather", [g.initializer("embed_tokens", embed, [V, d]), flatIds], { axis: 0 });
  } else {
    // int8 rows with one scale per row; only the S gathered rows are dequantized
    const { q, scale } = quantizeRowsInt8(embed, V, d);
    const rows = g.op("Gather", [g.initializer("embed_tokens.q", q, [V, d]), flatIds], { axis: 0 });
    const rowScale = g.op("Unsqueeze", [g.op("Gather", [g.initializer("embed_tokens.scale", scale, [V]), flatIds], { axis: 0 }), g.i64([1])]);
    h = g.op("Mul", [g.op("Cast", [rows], { to: 1 }), rowScale]);
  }

  // the first cache input: its length P, and with the S new positions the total T = P + S. The plain
  // graph's caches are [1, KV, P, hd] (GroupQueryAttention's layout: its present is the output as
  // is, no copy to reshape it); the batched graph's ragged buffer [KV, C, hd] (only read)
  const cacheShape: Array<number | string> = batch ? [KV, "C", hd] : [1, KV, "P", hd];
  const cacheInput = (name: string) => g.input(name, "float32", cacheShape);
  const past0 = cacheInput(io.pastKey(0));

  // RoPE tables [maxPos, hd/2] (HF's `emb = cat(freqs, freqs)` keeps one half); both graphs write them
  // (they share one weights file)
  const tables = ropeTables(arch);
  const cosHalf = g.initializer("rope.cos", tables.cos, [arch.max_position_embeddings, hd / 2]);
  const sinHalf = g.initializer("rope.sin", tables.sin, [arch.max_position_embeddings, hd / 2]);
  const attScale = 1 / Math.sqrt(hd);
  /**
   * Unbatched: one `com.microsoft.GroupQueryAttention` node per layer does RoPE, the KV-cache append,
   * the causal mask and the grouped softmax attention (~22 nodes each otherwise; measured: ~0.5 ms
   * of a 24 ms SmolLM2 decode step, bench/results/smollm2-int4.md). Batched rows have their own positions and masks
   * (ragged cache), and onnxruntime's GQA takes head sizes that are multiples of 16 only: for those,
   * the explicit form below.
   */
  const P = g.op("Gather", [g.op("Shape", [past0]), g.i64([batch ? 1 : 2])], { axis: 0 }); // [1]
  const S = g.op("Gather", [g.op("Shape", [flatIds]), g.i64([0])], { axis: 0 }); // [1]
  const T = g.op("Add", [P, S]);
  const scalar = (t: string) => g.op("Squeeze", [t, g.i64([0])]);
  const gqaLengths = batch || hd % 16 !== 0 ? undefined : {
    seqlensK: g.op("Cast", [g.op("Sub", [T, g.i64([1])])], { to: 6 }), // [1] int32: total length − 1
    total: g.op("Cast", [scalar(T)], { to: 6 }), // int32 scalar
  };
  const explicit = gqaLengths ? undefined : (() => {
    // positions P..P+S-1 (batched: each row's own), RoPE tables for them, [S, 1, hd] to broadcast over heads
    const pos = batch ? batch.pos : g.op("Range", [scalar(P), scalar(T), g.initializer("one_i64", BigInt64Array.of(1n), [], { external: false })]); // [S]
    const full = (half: string) => {
      const rows = g.op("Gather", [half, pos], { axis: 0 }); // [S, hd/2]
      return g.op("Unsqueeze", [g.op("Concat", [rows, rows], { axis: 1 }), g.i64([1])]);
    };
    // causal mask [S, T]: query at position P+i sees keys j ≤ P+i
    const causalMask = () => {
      const cols = g.op("Range", [g.initializer("zero_i64", BigInt64Array.of(0n), [], { external: false }), scalar(T), "one_i64"]); // [T]
      const future = g.op("Greater", [cols, g.op("Unsqueeze", [pos, g.i64([1])])]); // [S, T]
      return g.op("Where", [future, g.f32([-Infinity], []), g.f32([0], [])]);
    };
    // batched rows attend through `perRowAttention` with their own mask
    const mask = batch ? undefined : causalMask();
    return { cosS: full(cosHalf), sinS: full(sinHalf), rotR: g.initializer("rope.rotate_half", rotateHalfMatrix(hd), [hd, hd], { external: false }), mask, scale: g.f32([attScale], []) };
  })();

  const eps = { float: arch.rms_norm_eps };
  let residualAdd: string | undefined; // output of the previous block still to be added to h
  const attnShapes = batch ? attentionShapes(g, batch, { KV, groups: groupsPerKv, hd }) : undefined; // batched: the shapes every layer's attention uses
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    const pre = `model.layers.${l}`;
    // RMSNorm (fused with the previous block's residual add)
    const normW = g.initializer(`layers.${l}.input_layernorm`, need(w, `${pre}.input_layernorm.weight`), [d]);
    let x: string;
    if (residualAdd) {
      const outs = g.opN("SkipSimplifiedLayerNormalization", [h, residualAdd, normW], { epsilon: eps }, { domain: "com.microsoft", outputs: 4 });
      x = outs[0]!;
      h = outs[3]!;
    } else {
      x = g.op("SimplifiedLayerNormalization", [h, normW], { axis: -1, epsilon: eps, stash_type: 1 });
    }

    // qkv matmuls (+ LoRA), one fused projection
    const qkvBias = arch.attention_bias
      ? Float32Array.from([...need(w, `${pre}.self_attn.q_proj.bias`), ...need(w, `${pre}.self_attn.k_proj.bias`), ...need(w, `${pre}.self_attn.v_proj.bias`)])
      : undefined;
    const qkvFlat = projectGroup(x, l, "qkv", qkvBias); // [S, (H+2KV)·hd]
    const pastK = l === 0 ? past0 : cacheInput(io.pastKey(l));
    const pastV = cacheInput(io.pastValue(l));
    let attnIn: string; // [S, H·hd]
    if (gqaLengths) {
      // packed q|k|v as a batch of one; scale 1/√hd; RoPE non-interleaved (rotate-half)
      const [out] = g.opN("GroupQueryAttention", [g.op("Unsqueeze", [qkvFlat, g.i64([0])]), "", "", pastK, pastV, gqaLengths.seqlensK, gqaLengths.total, cosHalf, sinHalf], { num_heads: H, kv_num_heads: KV, do_rotary: 1, rotary_interleaved: 0, scale: { float: attScale } }, { domain: "com.microsoft", outputs: [g.fresh("gqa"), io.presentKey(l), io.presentValue(l)] });
      attnIn = g.op("Squeeze", [out!, g.i64([0])]);
    } else {
      const { cosS, sinS, rotR, mask, scale } = explicit!;
      const qkv = g.op("Reshape", [qkvFlat, g.i64([0, H + 2 * KV, hd])]); // [S, H+2KV, hd]
      const [qk, v] = g.opN("Split", [qkv, g.i64([H + KV, KV])], { axis: 1 }, { outputs: 2 });

      // RoPE on q and k together: x·cos + rotate_half(x)·sin
      const qkRot = g.op("Add", [g.op("Mul", [qk!, cosS]), g.op("Mul", [g.op("MatMul", [qk!, rotR]), sinS])]);
      const [q, k] = g.opN("Split", [qkRot, g.i64([H, KV])], { axis: 1 }, { outputs: 2 });

      // the S new columns, [KV, S, hd]; batched, they are the pass's `present` output (the host
      // appends them to its buffer); plain, `present` is the past with them appended, [1, KV, T, hd]
      const fresh = (t: string, name: string) => g.op("Transpose", [t], { perm: [1, 0, 2] }, batch ? { outputs: [name] } : {});
      const newK = fresh(k!, io.presentKey(l));
      const newV = fresh(v!, io.presentValue(l));
      if (batch) {
        attnIn = perRowAttention(g, q!, { pastK, pastV, newK, newV }, batch, attnShapes!, { KV, groups: groupsPerKv, hd, scale: attScale });
      } else {
        const present = (past: string, name: string, added: string) => {
          const cat = g.op("Concat", [g.op("Squeeze", [past, g.i64([0])]), added], { axis: 1 });
          g.op("Unsqueeze", [cat, g.i64([0])], {}, { outputs: [name] });
          return cat;
        };
        const presentK = present(pastK, io.presentKey(l), newK);
        const presentV = present(pastV, io.presentValue(l), newV);
        // GQA attention: q heads grouped under their kv head, [KV, g, S, hd] against [KV, 1, T, hd]
        const qG = g.op("Transpose", [g.op("Reshape", [q!, g.i64([0, KV, groupsPerKv, hd])])], { perm: [1, 2, 0, 3] });
        const kG = g.op("Unsqueeze", [g.op("Transpose", [presentK], { perm: [0, 2, 1] }), g.i64([1])]); // [KV, 1, hd, T]
        const vG = g.op("Unsqueeze", [presentV, g.i64([1])]); // [KV, 1, T, hd]
        const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [qG, kG]), scale]), mask!]); // [KV, g, S, T]
        const att = g.op("Softmax", [scores], { axis: -1 });
        const ctx = g.op("Transpose", [g.op("MatMul", [att, vG])], { perm: [2, 0, 1, 3] }); // [S, KV, g, hd]
        attnIn = g.op("Reshape", [ctx, g.i64([0, H * hd])]);
      }
    }
    const attnOut = projectGroup(attnIn, l, "o");

    // residual + post-attention RMSNorm in one node
    const postW = g.initializer(`layers.${l}.post_attention_layernorm`, need(w, `${pre}.post_attention_layernorm.weight`), [d]);
    const outs = g.opN("SkipSimplifiedLayerNormalization", [h, attnOut, postW], { epsilon: eps }, { domain: "com.microsoft", outputs: 4 });
    h = outs[3]!;

    // SwiGLU MLP: down(silu(gate(x)) * up(x))
    const gu = projectGroup(outs[0]!, l, "gate_up");
    const [gate, up] = g.opN("Split", [gu, g.i64([arch.intermediate_size, arch.intermediate_size])], { axis: 1 }, { outputs: 2 });
    const hb = g.op("Mul", [g.op("Mul", [gate!, g.op("Sigmoid", [gate!])]), up!]);
    residualAdd = projectGroup(hb, l, "down");
  }

  // final residual + norm, logits for the last `logits_to_keep` positions only
  const finalW = g.initializer("norm", need(w, "model.norm.weight"), [d]);
  const final = g.opN("SkipSimplifiedLayerNormalization", [h, residualAdd!, finalW], { epsilon: eps }, { domain: "com.microsoft", outputs: 4 })[0]!;
  if (opts.taps) g.output(final, "float32", ["S", d], "tap.lm_head");
  const lastRows = batch ? lastPositionRows(g, final, batch.shapeBS, d) : g.op("Slice", [final, g.op("Neg", [keep!]), g.i64([Number.MAX_SAFE_INTEGER]), g.i64([0])]);
  const logits = (head ?? linearWeight("lm_head", transpose(arch.tie_word_embeddings ? embed : need(w, "lm_head.weight"), V, d), d, V, carriedHead)).apply(lastRows);
  g.output(logits, "float32", [opts.batch ? "B" : "K", V], io.logits);

  // present outputs are named by their nodes; declare them as graph outputs
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    g.output(io.presentKey(l), "float32", batch ? [KV, "N", hd] : [1, KV, "T", hd], io.presentKey(l));
    g.output(io.presentValue(l), "float32", batch ? [KV, "N", hd] : [1, KV, "T", hd], io.presentValue(l));
  }
  return g;
}


/**
 * The embedding rows `ids` of a MatMulNBits table `[V, blocks, ·]` with default zero points (the tied
 * lm_head's), dequantized as the op does: 8-bit `(u - 128)·scale`, 4-bit `(nibble - 8)·scale` with the
 * low nibble first; nibble halves (`repeats` 2) added, per-block offsets added. Only the S gathered
 * rows are dequantized. `[S, d]`.
 */
function gatherBlockRows(g: GraphBuilder, t: { values: string; scales: string; bits: number; blocks: number; repeats: number; offsets?: string; blockSize: number }, ids: string, V: number, d: number): string {
  const rowBlocks = t.repeats * t.blocks;
  let q = g.op("Cast", [g.op("Gather", [t.values, ids], { axis: 0 })], { to: 1 }); // [S, rowBlocks, bytes]
  if (t.bits === 4) {
    const hi = g.op("Floor", [g.op("Div", [q, g.f32([16], [])])]);
    const lo = g.op("Sub", [q, g.op("Mul", [hi, g.f32([16], [])])]);
    const pair = g.op("Concat", [g.op("Unsqueeze", [lo, g.i64([3])]), g.op("Unsqueeze", [hi, g.i64([3])])], { axis: 3 }); // [S, rowBlocks, bytes, 2]
    q = g.op("Reshape", [pair, g.i64([0, rowBlocks, t.blockSize])]);
  }
  const scale = g.op("Unsqueeze", [g.op("Gather", [g.op("Reshape", [t.scales, g.i64([V, rowBlocks])]), ids], { axis: 0 }), g.i64([2])]); // [S, rowBlocks, 1]
  let rows = g.op("Mul", [g.op("Sub", [q, g.f32([t.bits === 4 ? 8 : 128], [])]), scale]);
  if (t.repeats === 2) rows = g.op("ReduceSum", [g.op("Reshape", [rows, g.i64([0, 2, t.blocks, t.blockSize])]), g.i64([1])], { keepdims: 0 }); // [S, blocks, bs]
  if (t.offsets) rows = g.op("Add", [rows, g.op("Unsqueeze", [g.op("Gather", [t.offsets, ids], { axis: 0 }), g.i64([2])])]);
  return g.op("Reshape", [rows, g.i64([-1, d])]);
}
