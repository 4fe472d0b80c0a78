import { describe, expect, it } from "vitest";
import { randomHfWeights } from "./hf-checkpoint.ts";
import {
  attention, doraWeight, forwardLogits, linear, loraDelta, loraScaling, mergeLoraDeltas, relL2, rmsnorm, rope,
  type HfConfig, type HfWeights,
} from "./llama64.ts";
import { createRng, randn } from "./random.ts";

const base: HfConfig = {
  vocab_size: 48, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: false, max_position_embeddings: 64,
};
const ids = [3, 17, 5, 40, 0, 22, 9];
const std = 0.2; // large enough that every layer moves the logits visibly

function norm(x: ArrayLike<number>): number {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! ** 2;
  return Math.sqrt(ss);
}

describe("rmsnorm", () => {
  it("gives every row a mean square of 1 before the weight, and scales by w", () => {
    const rng = createRng(1);
    const x = randn(rng, 3 * 8, 5);
    const ones = new Float64Array(8).fill(1);
    const y = rmsnorm(x, ones, 0);
    for (let s = 0; s < 3; s++) expect(norm(y.subarray(s * 8, s * 8 + 8)) ** 2 / 8).toBeCloseTo(1, 12);
    const w = randn(rng, 8, 0.1, 1);
    const yw = rmsnorm(x, w, 0);
    for (let i = 0; i < y.length; i++) expect(yw[i]).toBeCloseTo(y[i]! * w[i % 8]!, 12);
  });

  it("adds eps inside the square root", () => {
    expect(rmsnorm(new Float64Array([3, 4]), new Float64Array([1, 1]), 0.5)[0]).toBeCloseTo(3 / Math.sqrt(12.5 + 0.5), 14);
  });
});

describe("rope", () => {
  const rng = createRng(2);
  const H = 3, hd = 8, S = 6;

  it("is the identity at position 0 and preserves each head's norm everywhere", () => {
    const x = randn(rng, S * H * hd);
    const y = Float64Array.from(x);
    rope(y, H, hd, 10000);
    expect(y.subarray(0, H * hd)).toEqual(x.subarray(0, H * hd));
    for (let i = 0; i < S * H; i++) expect(norm(y.subarray(i * hd, i * hd + hd))).toBeCloseTo(norm(x.subarray(i * hd, i * hd + hd)), 12);
  });

  it("pairs dim j with dim j + hd/2 (rotate-half), angle pos / theta^(2j/hd)", () => {
    const theta = 500;
    const x = randn(rng, 4 * 4); // S = 4, one head, hd = 4
    const y = Float64Array.from(x);
    rope(y, 1, 4, theta);
    const s = 3;
    const [a, b, c, e] = Array.from(x.subarray(s * 4, s * 4 + 4));
    const t0 = s, t1 = s / theta ** 0.5;
    const expected = [
      a! * Math.cos(t0) - c! * Math.sin(t0),
      b! * Math.cos(t1) - e! * Math.sin(t1),
      c! * Math.cos(t0) + a! * Math.sin(t0),
      e! * Math.cos(t1) + b! * Math.sin(t1),
    ];
    expect(relL2(y.subarray(s * 4, s * 4 + 4), expected)).toBeLessThan(1e-15);
  });

  it("makes q·k depend only on the distance between positions", () => {
    const q = randn(rng, hd), k = randn(rng, hd);
    const at = (v: Float64Array, pos: number) => {
      const x = new Float64Array((pos + 1) * hd);
      x.set(v, pos * hd);
      rope(x, 1, hd, 10000);
      return x.subarray(pos * hd);
    };
    const dot = (m: number, n: number) => at(q, m).reduce((acc, qi, i) => acc + qi * at(k, n)[i]!, 0);
    expect(dot(5, 2)).toBeCloseTo(dot(9, 6), 12);
    expect(dot(5, 2)).not.toBeCloseTo(dot(5, 3), 3);
  });
});

describe("attention", () => {
  const rng = createRng(3);
  const H = 4, hd = 5;

  it("over a single token returns that token's v, per kv group", () => {
    const q = randn(rng, H * hd), k = randn(rng, 2 * hd), v = randn(rng, 2 * hd);
    const out = attention(q, k, v, H, 2, hd);
    for (let h = 0; h < H; h++) {
      const kvh = h < 2 ? 0 : 1;
      expect(relL2(out.subarray(h * hd, h * hd + hd), v.subarray(kvh * hd, kvh * hd + hd))).toBeLessThan(1e-15);
    }
  });

  it("with KVH = H equals a plain masked multi-head loop", () => {
    const S = 5;
    const q = randn(rng, S * H * hd), k = randn(rng, S * H * hd), v = randn(rng, S * H * hd);
    const expected = new Float64Array(S * H * hd);
    const at = (m: Float64Array, s: number, h: number, i: number) => m[(s * H + h) * hd + i]!;
    for (let h = 0; h < H; h++) {
      for (let s = 0; s < S; s++) {
        const scores = Array.from({ length: S }, (_, t) =>
          t > s ? -Infinity : Array.from({ length: hd }, (_, i) => at(q, s, h, i) * at(k, t, h, i)).reduce((a, b) => a + b) / Math.sqrt(hd));
        const exps = scores.map((z) => Math.exp(z));
        const sum = exps.reduce((a, b) => a + b);
        for (let i = 0; i < hd; i++) expected[(s * H + h) * hd + i] = exps.reduce((acc, p, t) => acc + (p / sum) * at(v, t, h, i), 0);
      }
    }
    expect(relL2(attention(q, k, v, H, H, hd), expected)).toBeLessThan(1e-14);
  });

  it("with KVH < H equals multi-head attention over repeat_kv'd keys and values", () => {
    const S = 4, KVH = 2, rep = H / KVH;
    const q = randn(rng, S * H * hd), k = randn(rng, S * KVH * hd), v = randn(rng, S * KVH * hd);
    const repeat = (m: Float64Array) => {
      const out = new Float64Array(S * H * hd);
      for (let s = 0; s < S; s++) for (let h = 0; h < H; h++) out.set(m.subarray((s * KVH + Math.floor(h / rep)) * hd, (s * KVH + Math.floor(h / rep) + 1) * hd), (s * H + h) * hd);
      return out;
    };
    expect(attention(q, k, v, H, KVH, hd)).toEqual(attention(q, repeat(k), repeat(v), H, H, hd));
  });
});

describe("forwardLogits", () => {
  it("returns finite [S, V] logits, deterministically", () => {
    const weights = randomHfWeights(base, 11, std);
    const logits = forwardLogits(base, weights, ids);
    expect(logits.length).toBe(ids.length * base.vocab_size);
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(forwardLogits(base, randomHfWeights(base, 11, std), ids)).toEqual(logits);
  });

  it("is causal: logits at position i ignore every later token", () => {
    const weights = randomHfWeights(base, 12, std);
    const V = base.vocab_size;
    const a = forwardLogits(base, weights, ids);
    const b = forwardLogits(base, weights, [...ids.slice(0, 4), 1, 2, 3]);
    expect(b.subarray(0, 4 * V)).toEqual(a.subarray(0, 4 * V));
    expect(relL2(b.subarray(4 * V), a.subarray(4 * V))).toBeGreaterThan(1e-3);
  });

  it("with one token, v = o = identity and no MLP, is rmsnorm(e + rmsnorm(e)) through an identity head", () => {
    const d = 8;
    const config: HfConfig = { ...base, vocab_size: d, hidden_size: d, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2 };
    const weights = randomHfWeights(config, 13, std);
    const eye = new Float32Array(d * d).map((_, i) => (i % (d + 1) === 0 ? 1 : 0));
    for (const name of ["self_attn.v_proj", "self_attn.o_proj"]) weights.set(`model.layers.0.${name}.weight`, { dims: [d, d], data: eye });
    weights.set("model.layers.0.mlp.down_proj.weight", { dims: [d, config.intermediate_size], data: new Float32Array(d * config.intermediate_size) });
    weights.set("lm_head.weight", { dims: [d, d], data: eye });
    const f64 = (name: string) => Float64Array.from(weights.get(name)!.data);
    const id = 5;
    const e = f64("model.embed_tokens.weight").subarray(id * d, id * d + d);
    const h = rmsnorm(e, f64("model.layers.0.input_layernorm.weight"), config.rms_norm_eps).map((xi, i) => e[i]! + xi);
    const expected = rmsnorm(h, f64("model.norm.weight"), config.rms_norm_eps);
    expect(relL2(forwardLogits(config, weights, [id]), expected)).toBeLessThan(1e-14);
  });

  it("with KVH < H equals the same model with k/v projections repeated to KVH = H", () => {
    const config: HfConfig = { ...base, attention_bias: true };
    const weights = randomHfWeights(config, 14, std);
    const hd = config.hidden_size / config.num_attention_heads;
    const rep = config.num_attention_heads / config.num_key_value_heads;
    const expanded: HfWeights = new Map(weights);
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const name of ["k_proj.weight", "v_proj.weight", "k_proj.bias", "v_proj.bias"]) {
        const key = `model.layers.${l}.self_attn.${name}`;
        const t = weights.get(key)!;
        const rowLen = t.dims.length === 2 ? t.dims[1]! : 1;
        const data = new Float32Array(config.num_attention_heads * hd * rowLen);
        for (let h = 0; h < config.num_attention_heads; h++) {
          const src = Math.floor(h / rep) * hd * rowLen;
          data.set(t.data.subarray(src, src + hd * rowLen), h * hd * rowLen);
        }
        expanded.set(key, { dims: t.dims.length === 2 ? [config.num_attention_heads * hd, rowLen] : [config.num_attention_heads * hd], data });
      }
    }
    const mha = { ...config, num_key_value_heads: config.num_attention_heads };
    expect(forwardLogits(mha, expanded, ids)).toEqual(forwardLogits(config, weights, ids));
  });

  it("ties lm_head to embed_tokens when tie_word_embeddings", () => {
    const tied = { ...base, tie_word_embeddings: true };
    const weights = randomHfWeights(tied, 15, std);
    expect(weights.has("lm_head.weight")).toBe(false);
    const untied = new Map(weights).set("lm_head.weight", weights.get("model.embed_tokens.weight")!);
    expect(forwardLogits(base, untied, ids)).toEqual(forwardLogits(tied, weights, ids));
  });

  it("adds q/k/v biases: zero biases change nothing, random ones do", () => {
    const biased = { ...base, attention_bias: true };
    const weights = randomHfWeights(biased, 16, std);
    const without = new Map([...weights].filter(([name]) => !name.endsWith(".bias")));
    const zero = new Map([...weights].map(([name, t]) => [name, name.endsWith(".bias") ? { dims: t.dims, data: new Float32Array(t.data.length) } : t]));
    expect(forwardLogits(biased, zero, ids)).toEqual(forwardLogits(base, without, ids));
    expect(relL2(forwardLogits(biased, weights, ids), forwardLogits(base, without, ids))).toBeGreaterThan(1e-3);
  });

  it("uses rope_theta and an explicit head_dim", () => {
    const config: HfConfig = { ...base, head_dim: 16, rope_theta: 500000 };
    const weights = randomHfWeights(config, 17, std);
    expect(weights.get("model.layers.0.self_attn.q_proj.weight")!.dims).toEqual([64, 32]);
    const other = forwardLogits({ ...config, rope_theta: 10000 }, weights, ids);
    const logits = forwardLogits(config, weights, ids);
    expect(other.subarray(0, base.vocab_size)).toEqual(logits.subarray(0, base.vocab_size)); // position 0 has no rotation
    expect(relL2(other, logits)).toBeGreaterThan(1e-4);
  });

  it("refuses out-of-range token ids and missing or misshapen weights", () => {
    const weights = randomHfWeights(base, 18, std);
    expect(() => forwardLogits(base, weights, [base.vocab_size])).toThrow(RangeError);
    expect(() => forwardLogits({ ...base, tie_word_embeddings: false }, new Map([...weights].filter(([n]) => n !== "lm_head.weight")), ids)).toThrow(/missing weight lm_head.weight/);
    expect(() => forwardLogits({ ...base, intermediate_size: 32 }, weights, ids)).toThrow(/dims/);
  });
});

describe("LoRA and DoRA merges", () => {
  const rng = createRng(4);
  const [out, n, r, S] = [6, 5, 3, 4];
  const W = { dims: [out, n], data: Float32Array.from(randn(rng, out * n)) };
  const A = { dims: [r, n], data: randn(rng, r * n) };
  const B = { dims: [out, r], data: randn(rng, out * r) };
  const x = randn(rng, S * n);
  const s = loraScaling(r, 6);

  it("computes PEFT's scaling, plain and rsLoRA", () => {
    expect(loraScaling(8, 16)).toBe(2);
    expect(loraScaling(16, 16, true)).toBe(4);
  });

  it("merged W + s·B·A equals x·Wᵀ + (x·Aᵀ)·Bᵀ·s on one linear layer", () => {
    const merged = mergeLoraDeltas(new Map([["w", W]]), new Map([["w", loraDelta(A, B, s)]])).get("w")!;
    const xa = linear(x, A.data, n); // [S, r]
    const side = linear(xa, B.data, r); // [S, out]
    const plain = linear(x, Float64Array.from(W.data), n);
    const expected = plain.map((y, i) => y + s * side[i]!);
    expect(relL2(linear(x, merged.data as Float64Array, n), expected)).toBeLessThan(1e-14);
  });

  it("merges only the named weights and leaves the input map untouched", () => {
    const weights = randomHfWeights(base, 19, std);
    const name = "model.layers.1.mlp.down_proj.weight";
    const before = Float32Array.from(weights.get(name)!.data);
    const merged = mergeLoraDeltas(weights, new Map([[name, new Float64Array(before.length).fill(0.01)]]));
    expect(weights.get(name)!.data).toEqual(before);
    expect(merged.get("model.layers.0.mlp.down_proj.weight")).toBe(weights.get("model.layers.0.mlp.down_proj.weight"));
    expect(merged.get(name)!.data[0]).toBeCloseTo(before[0]! + 0.01, 14);
    expect(() => mergeLoraDeltas(weights, new Map([["nope", new Float64Array(1)]]))).toThrow(/missing/);
  });

  it("DoRA with magnitude = row norms of W + ΔW equals the plain merge", () => {
    const delta = loraDelta(A, B, s);
    const plain = mergeLoraDeltas(new Map([["w", W]]), new Map([["w", delta]])).get("w")!;
    const m = new Float64Array(out).map((_, o) => norm(plain.data.subarray(o * n, o * n + n)));
    expect(relL2(doraWeight(W, delta, m).data, plain.data)).toBeLessThan(1e-15);
  });

  it("DoRA gives row o the norm m[o] and direction of row o of W + ΔW", () => {
    const delta = loraDelta(A, B, s);
    const m = randn(rng, out, 0.1, 2);
    const dora = doraWeight(W, delta, m).data;
    for (let o = 0; o < out; o++) {
      const row = dora.subarray(o * n, o * n + n);
      expect(norm(row)).toBeCloseTo(m[o]!, 12);
      const raw = Array.from({ length: n }, (_, i) => W.data[o * n + i]! + delta[o * n + i]!);
      expect(relL2(row.map((v) => (v * norm(raw)) / m[o]!), raw)).toBeLessThan(1e-14);
    }
  });
});
