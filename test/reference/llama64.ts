/**
 * Float64 reference forward pass of a Hugging Face Llama-family decoder (LlamaForCausalLM,
 * Qwen2ForCausalLM, SmolLM), written like llama2.c's run.c and independent of the builder and ONNX.
 * It is the oracle the product's logits are checked against, so it follows transformers' modeling
 * code step by step, only in float64:
 *
 * - RMSNorm: `LlamaRMSNorm.forward`, y = x / sqrt(mean(x²) + eps) · w (HF computes it in fp32).
 * - RoPE: `LlamaRotaryEmbedding` + `apply_rotary_pos_emb`, rotate-half convention:
 *   inv_freq[j] = 1 / theta^(2j/hd), emb = cat(freqs, freqs), q' = q·cos + rotate_half(q)·sin,
 *   rotate_half(x) = cat(-x2, x1). Default rope only (no `rope_scaling`).
 * - GQA: `repeat_kv`, query head h reads kv head floor(h / (H / KVH)).
 * - Attention: `eager_attention_forward`, softmax(q·kᵀ / sqrt(hd) + causal mask) · v.
 * - MLP: `LlamaMLP`, down(silu(gate(x)) · up(x)).
 * - Linear: `nn.Linear`, y = x·Wᵀ + b with W in [out, in]; any `*.bias` present in the weights is
 *   added (Qwen2's q/k/v bias; Llama's `attention_bias` also puts one on o_proj).
 * - lm_head: `embed_tokens.weight` when `tie_word_embeddings`, else `lm_head.weight`.
 *
 * LoRA (PEFT `tuners/lora/layer.py`, `Linear.get_delta_weight`): ΔW = scaling · B·A with A = lora_A
 * [r, in], B = lora_B [out, r], scaling = lora_alpha / r, or lora_alpha / sqrt(r) with `use_rslora`.
 * DoRA (PEFT `tuners/lora/dora.py`, `DoraLinearLayer.get_weight_norm` and `Linear.merge`):
 * W' = m ⊙ (W + ΔW) / ‖W + ΔW‖, the norm taken per output row over the input dimension.
 */

/** The fields of a Hugging Face `config.json` this reference reads. */
export type HfConfig = {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** Defaults to hidden_size / num_attention_heads. */
  head_dim?: number;
  rope_theta: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2). */
  attention_bias?: boolean;
  max_position_embeddings: number;
};

/** A row-major tensor with Hugging Face dims. */
export type HfTensor = { dims: number[]; data: Float32Array | Float64Array };

/** Hugging Face state-dict names (`model.layers.0.self_attn.q_proj.weight`, …) to tensors. */
export type HfWeights = Map<string, HfTensor>;

/**
 * head_dim as transformers resolves it.
 * @example headDim({ ...config, hidden_size: 64, num_attention_heads: 4 }) === 16
 */
export function headDim(config: HfConfig): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}

/**
 * Logits of every position, [S, V] row-major, computed in float64.
 * @example
 * const logits = forwardLogits(config, randomHfWeights(config, 1), [1, 5, 9]);
 * logits.length === 3 * config.vocab_size
 */
export function forwardLogits(config: HfConfig, weights: HfWeights, tokenIds: number[]): Float64Array {
  const { hidden_size: d, intermediate_size: ff, vocab_size: V, rms_norm_eps: eps } = config;
  const H = config.num_attention_heads;
  const KVH = config.num_key_value_heads;
  const hd = headDim(config);
  const S = tokenIds.length;
  if (!Number.isInteger(hd) || H % KVH !== 0) throw new Error(`bad heads: H=${H} KVH=${KVH} hd=${hd}`);
  const w = (name: string, dims: number[]) => tensor(weights, name, dims);
  // nn.Linear named `name` with weight [out, in] and an optional bias [out]
  const proj = (xin: Float64Array, name: string, out: number, n: number) =>
    linear(xin, w(`${name}.weight`, [out, n]), n, weights.has(`${name}.bias`) ? w(`${name}.bias`, [out]) : undefined);

  // token embedding
  const embed = w("model.embed_tokens.weight", [V, d]); // [V, d]
  const x = new Float64Array(S * d); // [S, d] residual stream
  tokenIds.forEach((id, s) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} outside [0, ${V})`);
    x.set(embed.subarray(id * d, (id + 1) * d), s * d);
  });

  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    // attention rmsnorm
    let xb = rmsnorm(x, w(`${p}.input_layernorm.weight`, [d]), eps); // [S, d]
    // qkv matmuls
    const q = proj(xb, `${p}.self_attn.q_proj`, H * hd, d); // [S, H·hd]
    const k = proj(xb, `${p}.self_attn.k_proj`, KVH * hd, d); // [S, KVH·hd]
    const v = proj(xb, `${p}.self_attn.v_proj`, KVH * hd, d); // [S, KVH·hd]
    // RoPE
    rope(q, H, hd, config.rope_theta);
    rope(k, KVH, hd, config.rope_theta);
    // GQA attention
    const att = attention(q, k, v, H, KVH, hd); // [S, H·hd]
    // output projection and residual
    addInPlace(x, proj(att, `${p}.self_attn.o_proj`, d, H * hd));
    // ffn rmsnorm
    xb = rmsnorm(x, w(`${p}.post_attention_layernorm.weight`, [d]), eps); // [S, d]
    // SwiGLU: down(silu(gate(x)) · up(x))
    const hb = proj(xb, `${p}.mlp.gate_proj`, ff, d); // [S, ff]
    const hb2 = proj(xb, `${p}.mlp.up_proj`, ff, d); // [S, ff]
    for (let i = 0; i < hb.length; i++) hb[i] = silu(hb[i]!) * hb2[i]!;
    addInPlace(x, proj(hb, `${p}.mlp.down_proj`, d, ff));
  }

  // final rmsnorm
  const xf = rmsnorm(x, w("model.norm.weight", [d]), eps); // [S, d]
  // classifier into logits
  const head = config.tie_word_embeddings ? embed : w("lm_head.weight", [V, d]); // [V, d]
  return linear(xf, head, d); // [S, V]
}

/**
 * RMSNorm of each row: x / sqrt(mean(x²) + eps) · w. x is [S, d], w is [d].
 * @example rmsnorm(new Float64Array([3, 4]), new Float64Array([1, 1]), 0) // [3, 4] / sqrt(12.5)
 */
export function rmsnorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  const d = w.length;
  const out = new Float64Array(x.length);
  for (let s = 0; s < x.length / d; s++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[s * d + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) out[s * d + i] = x[s * d + i]! * inv * w[i]!;
  }
  return out;
}

/**
 * nn.Linear: y = x·Wᵀ + b. x is [S, n], W is [out, n] (HF layout), b is [out]; returns [S, out].
 * @example linear(new Float64Array([1, 2]), new Float64Array([1, 0, 0, 1, 1, 1]), 2) // [1, 2, 3]
 */
export function linear(x: Float64Array, W: Float64Array, n: number, b?: Float64Array): Float64Array {
  const S = x.length / n;
  const out = W.length / n;
  const y = new Float64Array(S * out);
  for (let s = 0; s < S; s++) {
    for (let o = 0; o < out; o++) {
      let acc = b ? b[o]! : 0;
      for (let i = 0; i < n; i++) acc += x[s * n + i]! * W[o * n + i]!;
      y[s * out + o] = acc;
    }
  }
  return y;
}

/**
 * Rotary embedding in place, HF rotate-half convention: dims j and j + hd/2 of each head form one
 * pair rotated by angle pos · inv_freq[j], inv_freq[j] = 1 / theta^(2j/hd). x is [S, nHeads·hd],
 * row s sits at position s.
 * @example rope(q, H, hd, 10000) // row 0 unchanged; every row keeps its norm
 */
export function rope(x: Float64Array, nHeads: number, hd: number, theta: number): void {
  const half = hd / 2;
  const S = x.length / (nHeads * hd);
  for (let s = 0; s < S; s++) {
    for (let j = 0; j < half; j++) {
      const freq = s / theta ** ((2 * j) / hd);
      const cos = Math.cos(freq);
      const sin = Math.sin(freq);
      for (let h = 0; h < nHeads; h++) {
        const base = (s * nHeads + h) * hd;
        const x1 = x[base + j]!;
        const x2 = x[base + j + half]!;
        // q·cos + rotate_half(q)·sin with rotate_half(q) = cat(-q2, q1)
        x[base + j] = x1 * cos - x2 * sin;
        x[base + j + half] = x2 * cos + x1 * sin;
      }
    }
  }
}

/**
 * Causal grouped-query attention. q is [S, H·hd], k and v are [S, KVH·hd]; query head h reads kv
 * head floor(h / (H / KVH)) as `repeat_kv` does. Returns [S, H·hd].
 * @example attention(q, k, v, 4, 2, 16) // heads 0,1 share kv head 0; heads 2,3 share kv head 1
 */
export function attention(q: Float64Array, k: Float64Array, v: Float64Array, H: number, KVH: number, hd: number): Float64Array {
  const S = q.length / (H * hd);
  const kvDim = KVH * hd;
  const out = new Float64Array(S * H * hd);
  const att = new Float64Array(S); // scores of one query over positions 0..s
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / (H / KVH));
    for (let s = 0; s < S; s++) {
      const qs = q.subarray((s * H + h) * hd, (s * H + h + 1) * hd);
      // att = q·kᵀ / sqrt(hd) over t <= s (causal mask)
      for (let t = 0; t <= s; t++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += qs[i]! * k[t * kvDim + kvh * hd + i]!;
        att[t] = dot / Math.sqrt(hd);
      }
      softmax(att, s + 1);
      // out = att · v
      const o = (s * H + h) * hd;
      for (let t = 0; t <= s; t++) {
        for (let i = 0; i < hd; i++) out[o + i]! += att[t]! * v[t * kvDim + kvh * hd + i]!;
      }
    }
  }
  return out;
}

/**
 * Softmax of the first n entries, in place, max-subtracted.
 * @example softmax(new Float64Array([0, 0]), 2) // [0.5, 0.5]
 */
export function softmax(x: Float64Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i] = Math.exp(x[i]! - max);
  for (let i = 0; i < n; i++) x[i]! /= sum;
}

/**
 * SiLU: x · sigmoid(x).
 * @example silu(0) === 0
 */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}

/** The named tensor as float64, after checking its dims. */
function tensor(weights: HfWeights, name: string, dims: number[]): Float64Array {
  const t = weights.get(name);
  if (!t) throw new Error(`missing weight ${name}`);
  if (t.dims.join() !== dims.join()) throw new Error(`${name}: dims [${t.dims}] but expected [${dims}]`);
  return t.data instanceof Float64Array ? t.data : Float64Array.from(t.data);
}

// ---- LoRA, DoRA and comparison ----

/**
 * PEFT's scaling: lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora.
 * @example loraScaling(8, 16) === 2; loraScaling(16, 16, true) === 4
 */
export function loraScaling(r: number, loraAlpha: number, useRslora = false): number {
  return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
}

/**
 * ΔW = scaling · B·A in float64 ([out, in]), from PEFT's lora_A [r, in] and lora_B [out, r].
 * @example
 * const delta = loraDelta({ dims: [r, d], data: A }, { dims: [d, r], data: B }, loraScaling(r, 16));
 */
export function loraDelta(A: HfTensor, B: HfTensor, scaling: number): Float64Array {
  const [r, n] = A.dims as [number, number];
  const [out, rB] = B.dims as [number, number];
  if (A.dims.length !== 2 || B.dims.length !== 2 || rB !== r) throw new Error(`lora_A [${A.dims}] and lora_B [${B.dims}] do not chain`);
  const delta = new Float64Array(out * n);
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < r; j++) {
      const b = scaling * B.data[o * r + j]!;
      for (let i = 0; i < n; i++) delta[o * n + i]! += b * A.data[j * n + i]!;
    }
  }
  return delta;
}

/**
 * A copy of `weights` with W + ΔW for each named delta ([out, in], same size as W) in float64;
 * unnamed tensors are shared, not copied.
 * @example
 * const merged = mergeLoraDeltas(weights, new Map([["model.layers.0.self_attn.q_proj.weight", delta]]));
 */
export function mergeLoraDeltas(weights: HfWeights, deltas: Map<string, Float64Array>): HfWeights {
  const merged: HfWeights = new Map(weights);
  for (const [name, delta] of deltas) {
    const W = weights.get(name);
    if (!W) throw new Error(`delta for missing weight ${name}`);
    if (W.data.length !== delta.length) throw new Error(`${name}: delta has ${delta.length} values, weight [${W.dims}]`);
    const data = new Float64Array(delta.length);
    for (let i = 0; i < data.length; i++) data[i] = W.data[i]! + delta[i]!;
    merged.set(name, { dims: [...W.dims], data });
  }
  return merged;
}

/**
 * PEFT's DoRA merge: W' = m ⊙ (W + ΔW) / ‖W + ΔW‖_row, the norm per output row over the input
 * dimension (`get_weight_norm` for Linear). W and ΔW are [out, in], m is [out].
 * @example
 * const W2 = doraWeight(W, loraDelta(A, B, s), magnitude); // then mergeLoraDeltas or weights.set(name, W2)
 */
export function doraWeight(W: HfTensor, delta: Float64Array, magnitude: Float32Array | Float64Array): HfTensor {
  const [out, n] = W.dims as [number, number];
  if (W.dims.length !== 2 || delta.length !== out * n || magnitude.length !== out) {
    throw new Error(`DoRA shapes: W [${W.dims}], delta ${delta.length}, magnitude ${magnitude.length}`);
  }
  const data = new Float64Array(out * n);
  for (let o = 0; o < out; o++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (data[o * n + i] = W.data[o * n + i]! + delta[o * n + i]!) ** 2;
    const scale = magnitude[o]! / Math.sqrt(ss);
    for (let i = 0; i < n; i++) data[o * n + i]! *= scale;
  }
  return { dims: [out, n], data };
}

/**
 * Relative L2 error ‖a − b‖₂ / ‖b‖₂, b being the reference.
 * @example relL2(onnxLogits, forwardLogits(config, weights, ids)) < 1e-5
 */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: lengths ${a.length} and ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}
