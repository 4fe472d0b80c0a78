import { describe, expect, it } from "vitest";
import { LoraEdgeError } from "../errors.ts";
import { NO_LORA } from "../runtime/lora-feeds.ts";
import type { Architecture, Projection } from "../runtime/manifest.ts";
import { peftConfig, randomHfWeights, randomPeftTensors, writeSafetensors } from "../../test/reference/hf-checkpoint.ts";
import { composeAdapters, MAX_ADAPTER_WEIGHT } from "./compose.ts";
import { loadPeftAdapter } from "./load-peft.ts";
import { transpose } from "./matrix.ts";
import { projectionModule } from "./modules.ts";
import { prepareAdapter, type PreparedAdapter } from "./prepare.ts";

const arch: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 32, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, rope_theta: 10000,
  rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};
const base = randomHfWeights(arch, 3);

function prepared(r: number, targets: Projection[], seed: number, dora = false): PreparedAdapter {
  const tensors = randomPeftTensors(arch, { r, targets, seed, ...(dora ? { base } : {}) });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F32" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  const peft = loadPeftAdapter({ config: peftConfig({ r, lora_alpha: 2 * r, target_modules: targets, use_dora: dora }), weights }, arch);
  return prepareAdapter(peft, arch, { baseWeight: (l, p) => {
    const W = base.get(`${projectionModule(l, p)}.weight`)!;
    return transpose(Float32Array.from(W.data), W.dims[0]!, W.dims[1]!);
  } });
}

function error(f: () => unknown): LoraEdgeError {
  try {
    f();
  } catch (e) {
    return e as LoraEdgeError;
  }
  throw new Error("expected an error");
}

describe("composeAdapters", () => {
  const a = prepared(4, ["q_proj", "v_proj"], 1);
  const b = prepared(2, ["v_proj", "down_proj"], 2);
  const d = prepared(2, ["q_proj"], 3, true);

  it("returns NO_LORA for no adapters or only zero weights", () => {
    expect(composeAdapters(arch, [])).toBe(NO_LORA);
    expect(composeAdapters(arch, [{ adapter: a, weight: 0 }])).toBe(NO_LORA);
  });

  it("fast path: one adapter at weight 1 returns its cached feeds, the same object every time", () => {
    const f1 = composeAdapters(arch, [{ adapter: a, weight: 1 }]);
    expect(f1).toBe(a.feeds);
    expect(composeAdapters(arch, [{ adapter: a, weight: 1 }, { adapter: b, weight: 0 }])).toBe(f1);
  });

  it("concatenates ranks per group and leaves groups no adapter touches absent", () => {
    const f = composeAdapters(arch, [{ adapter: a, weight: 1 }, { adapter: b, weight: 2 }]);
    expect(f.layers[0]!.qkv!.rank).toBe(4 + 4 + 2);
    expect(f.layers[0]!.down!.rank).toBe(2);
    expect(f.layers[0]!.o).toBeUndefined();
    expect(f.layers[0]!.gate_up).toBeUndefined();
    // b's block of B is scaled by its weight, a's is copied as is
    const fa = a.feeds.layers[0]!.qkv!;
    const fb = b.feeds.layers[0]!.qkv!;
    const out = 64;
    expect(Array.from(f.layers[0]!.qkv!.B.subarray(0, 8 * out))).toEqual(Array.from(fa.B));
    expect(Array.from(f.layers[0]!.qkv!.B.subarray(8 * out))).toEqual(Array.from(fb.B, (x) => Math.fround(2 * x)));
    expect(f.layers[0]!.qkv!.scale).toBeUndefined();
  });

  it("refuses DoRA mixed with other adapters or at weight ≠ 1, and serves it alone", () => {
    expect(composeAdapters(arch, [{ adapter: d, weight: 1 }]).dora).toBe(true);
    for (const list of [[{ adapter: d, weight: 1 }, { adapter: a, weight: 1 }], [{ adapter: d, weight: 0.5 }]]) {
      const e = error(() => composeAdapters(arch, list));
      expect([e.status, e.code]).toEqual([400, "dora_composition_unsupported"]);
      expect(e.message).toMatch(/DoRA adapter can only be used alone with weight 1/);
    }
  });

  it("refuses non-finite weights, other architectures and summed ranks above max_rank", () => {
    const w = error(() => composeAdapters(arch, [{ adapter: a, weight: NaN }]));
    expect([w.status, w.code, w.message]).toEqual([400, "invalid_adapter_weight", "adapters[0].weight is NaN; weights must be finite numbers between -10 and 10"]);
    const m = error(() => composeAdapters({ ...arch, hidden_size: 64 }, [{ adapter: a, weight: 1 }]));
    expect([m.status, m.code]).toEqual([409, "adapter_base_mismatch"]);
    const r = error(() => composeAdapters(arch, [{ adapter: a, weight: 1 }, { adapter: b, weight: 1 }], { maxRank: 8 }));
    expect([r.status, r.code, r.message]).toEqual([400, "rank_too_large", "layer 0 group qkv needs rank 10 for this adapter mix, above the base model's max_rank 8"]);
  });

  it("bounds composition weights to ±MAX_ADAPTER_WEIGHT, naming the bound and the adapter", () => {
    for (const weight of [1e308, -11, 10.5]) {
      const e = error(() => composeAdapters(arch, [{ adapter: a, weight: 0.5 }, { adapter: b, weight }]));
      expect([e.status, e.code, e.param]).toEqual([400, "invalid_adapter_weight", "adapters.1.weight"]);
      expect(e.message).toContain(`between -${MAX_ADAPTER_WEIGHT} and ${MAX_ADAPTER_WEIGHT}`);
    }
    expect(() => composeAdapters(arch, [{ adapter: a, weight: -MAX_ADAPTER_WEIGHT }, { adapter: b, weight: MAX_ADAPTER_WEIGHT }])).not.toThrow();
  });

  it("refuses a weight whose product with the factors overflows float32", () => {
    const huge = { ...b, feeds: b.feeds, layers: b.layers.map((layer) => Object.fromEntries(Object.entries(layer).map(([g, e]) => [g, { ...e, feed: { ...e!.feed, B: e!.feed.B.map(() => 3e38) } }]))) } as typeof b;
    const e = error(() => composeAdapters(arch, [{ adapter: a, weight: 1 }, { adapter: huge, weight: 2 }]));
    expect([e.status, e.code]).toEqual([400, "invalid_adapter_weight"]);
    expect(e.message).toMatch(/overflows float32/);
  });
});
