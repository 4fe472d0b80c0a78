/**
 * Prepared feeds against float64 math: for random PEFT adapters written as PEFT-layout directories,
 * every group's `x·W + (x·A)·B` (then `⊙ scale` for DoRA) must equal `x·W'` with W' the float64
 * merged weight of test/reference/llama64.ts, per projection, to relative L2 < 1e-6.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LoraEdgeError } from "../errors.ts";
import type { LoraFeeds } from "../runtime/lora-feeds.ts";
import { groupLayout, LORA_GROUPS, PROJECTIONS, type Architecture, type Projection } from "../runtime/manifest.ts";
import { peftKey, projectionPath, randomHfWeights, randomPeftTensors, readSafetensors, writePeftAdapter, type PeftLoraConfig, type SafetensorsDtype } from "../../test/reference/hf-checkpoint.ts";
import { doraWeight, loraDelta, loraScaling, mergeLoraDeltas, relL2, type HfConfig, type HfTensor, type HfWeights } from "../../test/reference/llama64.ts";
import { createRng, randn } from "../../test/reference/random.ts";
import { composeAdapters } from "./compose.ts";
import { loadPeftAdapter, type PeftAdapter } from "./load-peft.ts";
import { transpose } from "./matrix.ts";
import { parseSafetensors } from "./safetensors.ts";
import { deserializePreparedAdapter, prepareAdapter, projectionFactors, serializePreparedAdapter, type PreparedAdapter } from "./prepare.ts";

const arch: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 64, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 128, rope_theta: 10000,
  rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};
const hf: HfConfig = arch;
const base = randomHfWeights(hf, 1);
const root = mkdtempSync(join(tmpdir(), "lora-edge-adapters-"));

/** The base weight in graph layout [in, out], as the runtime would supply it dequantized. */
const baseWeight = (l: number, p: Projection): Float32Array => {
  const W = base.get(`${projectionPath(l, p)}.weight`)!;
  return transpose(Float32Array.from(W.data), W.dims[0]!, W.dims[1]!);
};

type Fixture = {
  config: Partial<PeftLoraConfig>;
  dtype: SafetensorsDtype;
  tensors: Map<string, HfTensor>;
  /** PEFT's scaling of each module, spelled out independently of the code under test */
  scaling: (l: number, p: Projection) => number;
  /** the file stores lora_A/lora_B transposed (fan_in_fan_out) */
  transposed?: boolean;
};

let dirCount = 0;
/** Write the fixture as a PEFT directory, load and prepare it from the files' bytes. */
function prepareFixture(f: Fixture): { prepared: PreparedAdapter; dir: string; peft: PeftAdapter } {
  const dir = join(root, `adapter-${dirCount++}`);
  const tensors = f.transposed ? new Map([...f.tensors].map(([k, t]) => [k, transposeHf(t)])) : f.tensors;
  writePeftAdapter(dir, f.config, tensors, f.dtype);
  const files = { config: readFileSync(join(dir, "adapter_config.json")), weights: readFileSync(join(dir, "adapter_model.safetensors")) };
  const peft = loadPeftAdapter(files, arch, { maxRank: 64 });
  return { prepared: prepareAdapter(peft, arch, { baseWeight }), dir, peft };
}

function transposeHf(t: HfTensor): HfTensor {
  const [rows, cols] = t.dims as [number, number];
  return { dims: [cols, rows], data: transpose(Float32Array.from(t.data), rows, cols) };
}

/** float64 ΔW (Σ over weighted adapters) per base weight name, from the files as stored (after dtype rounding). */
function referenceDeltas(parts: { fixture: Fixture; dir: string; weight: number }[]): Map<string, Float64Array> {
  const deltas = new Map<string, Float64Array>();
  for (const { fixture, dir, weight } of parts) {
    const stored = readSafetensors(readFileSync(join(dir, "adapter_model.safetensors"))).tensors;
    const get = (k: string) => (fixture.transposed ? transposeHf(stored.get(k)!) : stored.get(k)!);
    for (let l = 0; l < arch.num_hidden_layers; l++) {
      for (const p of PROJECTIONS) {
        if (!stored.has(peftKey(l, p, "lora_A"))) continue;
        const d = loraDelta(get(peftKey(l, p, "lora_A")), get(peftKey(l, p, "lora_B")), weight * fixture.scaling(l, p));
        const name = `${projectionPath(l, p)}.weight`;
        const acc = deltas.get(name);
        if (acc) for (let i = 0; i < d.length; i++) acc[i]! += d[i]!;
        else deltas.set(name, d);
      }
    }
  }
  return deltas;
}

/** W' with DoRA: m ⊙ (W + ΔW)/‖W + ΔW‖_row, m as stored in the file. */
function doraMerged(fixture: Fixture, dir: string): HfWeights {
  const stored = readSafetensors(readFileSync(join(dir, "adapter_model.safetensors"))).tensors;
  const merged: HfWeights = new Map(base);
  for (const [name, delta] of referenceDeltas([{ fixture, dir, weight: 1 }])) {
    const m = /layers\.(\d+)\..*\.(\w+_proj)\.weight$/.exec(name)!;
    const magnitude = stored.get(peftKey(Number(m[1]), m[2] as Projection, "lora_magnitude_vector"))!.data;
    merged.set(name, doraWeight(base.get(name)!, delta, magnitude));
  }
  return merged;
}

/**
 * For every layer and group: y = x·W_g + (x·A)·B (⊙ scale) in float64 from the float32 feeds,
 * against x·W'_p per projection. Returns how many groups carried an adapter.
 */
function expectFeedsMatch(feeds: LoraFeeds, merged: HfWeights, seed: number): number {
  const rng = createRng(seed);
  const M = 3;
  let adapted = 0;
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const g of LORA_GROUPS) {
      const { in: n, out, columns } = groupLayout(arch, g.name);
      const x = randn(rng, M * n);
      const y = new Float64Array(M * out);
      const yRef = new Float64Array(M * out);
      for (const p of g.projections) {
        const [c0, c1] = columns[p]!;
        const W = base.get(`${projectionPath(l, p)}.weight`)!.data; // [out_p, in]
        const W2 = merged.get(`${projectionPath(l, p)}.weight`)!.data;
        for (let m = 0; m < M; m++) {
          for (let o = 0; o < c1 - c0; o++) {
            let a = 0;
            let b = 0;
            for (let i = 0; i < n; i++) {
              a += x[m * n + i]! * W[o * n + i]!;
              b += x[m * n + i]! * W2[o * n + i]!;
            }
            y[m * out + c0 + o] = a;
            yRef[m * out + c0 + o] = b;
          }
        }
      }
      const feed = feeds.layers[l]?.[g.name];
      if (feed && feed.rank > 0) {
        adapted++;
        expect(feed.A.length).toBe(n * feed.rank);
        expect(feed.B.length).toBe(feed.rank * out);
        expect(relL2(y, yRef)).toBeGreaterThan(1e-3); // the adapter changes this group: the check below is not vacuous
        for (let m = 0; m < M; m++) {
          const t = new Float64Array(feed.rank); // x·A [R]
          for (let i = 0; i < n; i++) for (let j = 0; j < feed.rank; j++) t[j]! += x[m * n + i]! * feed.A[i * feed.rank + j]!;
          for (let j = 0; j < feed.rank; j++) for (let c = 0; c < out; c++) y[m * out + c]! += t[j]! * feed.B[j * out + c]!;
        }
      }
      if (feed?.scale) for (let m = 0; m < M; m++) for (let c = 0; c < out; c++) y[m * out + c]! *= feed.scale[c]!;
      const err = relL2(y, yRef);
      if (!(err < 1e-6)) throw new Error(`layer ${l} group ${g.name}: relative L2 ${err}`);
    }
  }
  return adapted;
}

const ALL = [...PROJECTIONS];

const fixtures = {
  plain: (): Fixture => ({
    config: { r: 8, lora_alpha: 16, target_modules: ["q_proj", "v_proj", "down_proj"] },
    dtype: "F32",
    tensors: randomPeftTensors(hf, { r: 8, targets: ["q_proj", "v_proj", "down_proj"], seed: 10 }),
    scaling: () => loraScaling(8, 16),
  }),
  rslora: (): Fixture => ({
    config: { r: 4, lora_alpha: 8, use_rslora: true, target_modules: ALL },
    dtype: "BF16",
    tensors: randomPeftTensors(hf, { r: 4, targets: ALL, seed: 11 }),
    scaling: () => loraScaling(4, 8, true),
  }),
  patterns: (): Fixture => {
    const rankOf = (l: number, p: Projection) => (p === "v_proj" ? 4 : l === 1 && p === "down_proj" ? 2 : 8);
    const alphaOf = (_l: number, p: Projection) => (p === "o_proj" || p === "gate_proj" ? 3 : 16);
    return {
      config: { r: 8, lora_alpha: 16, target_modules: ALL, rank_pattern: { v_proj: 4, "model.layers.1.mlp.down_proj": 2 }, alpha_pattern: { "self_attn.o_proj": 3, gate_proj: 3 } },
      dtype: "F16",
      tensors: randomPeftTensors(hf, { r: 8, targets: ALL, seed: 12, rankOf }),
      scaling: (l, p) => loraScaling(rankOf(l, p), alphaOf(l, p)),
    };
  },
  layers: (): Fixture => ({
    config: { r: 6, lora_alpha: 12, target_modules: ["k_proj", "up_proj", "o_proj"], layers_to_transform: [0, 2], layers_pattern: "layers" },
    dtype: "F32",
    tensors: randomPeftTensors(hf, { r: 6, targets: ["k_proj", "up_proj", "o_proj"], seed: 13, layers: [0, 2] }),
    scaling: () => loraScaling(6, 12),
  }),
  fanInFanOut: (): Fixture => ({
    config: { r: 4, lora_alpha: 4, fan_in_fan_out: true, target_modules: ["q_proj", "gate_proj", "down_proj"] },
    dtype: "BF16",
    tensors: randomPeftTensors(hf, { r: 4, targets: ["q_proj", "gate_proj", "down_proj"], seed: 14 }),
    scaling: () => loraScaling(4, 4),
    transposed: true,
  }),
  regex: (): Fixture => ({
    config: { r: 3, lora_alpha: 5, target_modules: String.raw`.*\.(k_proj|up_proj)` },
    dtype: "F16",
    tensors: randomPeftTensors(hf, { r: 3, targets: ["k_proj", "up_proj"], seed: 15 }),
    scaling: () => loraScaling(3, 5),
  }),
  dora: (targets: Projection[] = ["q_proj", "k_proj", "o_proj", "up_proj"]): Fixture => ({
    config: { r: 4, lora_alpha: 8, use_dora: true, target_modules: targets },
    dtype: "F32",
    tensors: randomPeftTensors(hf, { r: 4, targets, seed: 16, base }),
    scaling: () => loraScaling(4, 8),
  }),
};

describe("prepareAdapter: feeds equal the float64 merged weights", () => {
  for (const name of ["plain", "rslora", "patterns", "layers", "fanInFanOut", "regex"] as const) {
    it(`${name}: x·W + (x·A)·B = x·(W + s·B·A) per projection`, () => {
      const fixture = fixtures[name]();
      const { prepared, dir } = prepareFixture(fixture);
      const merged = mergeLoraDeltas(base, referenceDeltas([{ fixture, dir, weight: 1 }]));
      const feeds = composeAdapters(arch, [{ adapter: prepared, weight: 1 }]);
      expect(feeds.dora).toBe(false);
      const adapted = expectFeedsMatch(feeds, merged, 100);
      const expectedGroups = new Set<string>();
      for (const k of fixture.tensors.keys()) {
        const m = /layers\.(\d+)\..*\.(\w+_proj)\./.exec(k)!;
        expectedGroups.add(`${m[1]}:${LORA_GROUPS.find((g) => (g.projections as readonly string[]).includes(m[2]!))!.name}`);
      }
      expect(adapted).toBe(expectedGroups.size);
      for (const layer of feeds.layers) for (const f of Object.values(layer)) expect(f.scale).toBeUndefined(); // plain graph
    });
  }

  it("DoRA: (x·W + (x·A)·B) ⊙ scale = x·W' with W' = m ⊙ (W + ΔW)/‖W + ΔW‖_row, scale 1 elsewhere", () => {
    const fixture = fixtures.dora();
    const { prepared, dir } = prepareFixture(fixture);
    expect(prepared.dora).toBe(true);
    const feeds = composeAdapters(arch, [{ adapter: prepared, weight: 1 }]);
    expect(feeds.dora).toBe(true);
    expectFeedsMatch(feeds, doraMerged(fixture, dir), 200);
    // every layer × group has a scale input; columns of v (not DoRA-adapted) and untouched groups are 1
    for (const layer of feeds.layers) {
      for (const g of LORA_GROUPS) expect(layer[g.name]?.scale?.length).toBe(groupLayout(arch, g.name).out);
      const [v0, v1] = groupLayout(arch, "qkv").columns.v_proj!;
      expect(Array.from(layer.qkv!.scale!.subarray(v0, v1)).every((s) => s === 1)).toBe(true);
      expect(layer.down!.rank).toBe(0);
      expect(Array.from(layer.down!.scale!).every((s) => s === 1)).toBe(true);
    }
  });

  it("DoRA is refused when the runtime supplies no base weights", () => {
    const fixture = fixtures.dora(["q_proj"]);
    writePeftAdapter(join(root, "dora-nobase"), fixture.config, fixture.tensors, "F32");
    const peft = loadPeftAdapter({ config: readFileSync(join(root, "dora-nobase", "adapter_config.json")), weights: readFileSync(join(root, "dora-nobase", "adapter_model.safetensors")) }, arch);
    try {
      prepareAdapter(peft, arch);
      throw new Error("expected a refusal");
    } catch (e) {
      expect((e as LoraEdgeError).code).toBe("dora_unsupported");
      expect((e as LoraEdgeError).message).toMatch(/model\.layers\.0\.self_attn\.q_proj uses DoRA, which needs the base model's weights/);
    }
  });

  it("counts the bytes it holds and exposes each projection's compact factors", () => {
    const { prepared } = prepareFixture(fixtures.plain());
    const q = 64, kv = 32, d = 64, ff = 96, r = 8;
    // per layer: qkv A [d, 2r] + B [2r, q+2kv] (block-diagonal), down A [ff, r] + B [r, d]
    const perLayer = 4 * (d * 2 * r + 2 * r * (q + 2 * kv) + ff * r + r * d);
    expect(prepared.bytes).toBe(3 * perLayer);
    const f = projectionFactors(prepared, arch, 1, "v_proj")!;
    expect([f.rank, f.At.length, f.sBt.length]).toEqual([8, d * r, r * kv]);
    expect(projectionFactors(prepared, arch, 1, "k_proj")).toBeUndefined();
  });
});

describe("prepareAdapter refuses scaled factors that overflow float32", () => {
  const refused = (f: Fixture) => {
    try {
      prepareFixture(f);
    } catch (e) {
      return e as LoraEdgeError;
    }
    throw new Error("prepared an adapter whose scaled factors overflow");
  };
  const plain = fixtures.plain;
  it.each([
    ["lora_alpha 1e308", () => ({ ...plain(), config: { ...plain().config, lora_alpha: 1e308 } })],
    ["alpha_pattern 1e300 on one module", () => ({ ...plain(), config: { ...plain().config, alpha_pattern: { "layers.1.mlp.down_proj": 1e300 } } })],
    [
      "weights near float32's limit at scaling 2",
      () => {
        const f = plain();
        for (const [k, t] of f.tensors) if (k.includes("lora_B")) t.data.fill(3e38);
        return f;
      },
    ],
  ])("%s → 400 non_finite_weight naming the module", (_, make) => {
    const e = refused(make());
    expect(e).toBeInstanceOf(LoraEdgeError);
    expect([e.status, e.code]).toEqual([400, "non_finite_weight"]);
    expect(e.message).toMatch(/model\.layers\.\d\.(self_attn|mlp)\.\w+_proj: lora_B × scaling .* overflows float32/);
  });
});

describe("composeAdapters: weighted composition is exact", () => {
  it("three adapters with different ranks, targets, layers and dtypes: W + Σ wᵢ·sᵢ·BᵢAᵢ", () => {
    const a: Fixture = { config: { r: 2, lora_alpha: 4, target_modules: ["q_proj", "k_proj", "down_proj"] }, dtype: "F32", tensors: randomPeftTensors(hf, { r: 2, targets: ["q_proj", "k_proj", "down_proj"], seed: 21 }), scaling: () => loraScaling(2, 4) };
    const b: Fixture = { config: { r: 4, lora_alpha: 8, use_rslora: true, target_modules: ["q_proj", "o_proj", "up_proj"], layers_to_transform: [1, 2] }, dtype: "BF16", tensors: randomPeftTensors(hf, { r: 4, targets: ["q_proj", "o_proj", "up_proj"], seed: 22, layers: [1, 2] }), scaling: () => loraScaling(4, 8, true) };
    const upRank = 3;
    const c: Fixture = { config: { r: 8, lora_alpha: 8, target_modules: ["v_proj", "gate_proj", "up_proj", "down_proj"], rank_pattern: { up_proj: upRank } }, dtype: "F16", tensors: randomPeftTensors(hf, { r: 8, targets: ["v_proj", "gate_proj", "up_proj", "down_proj"], seed: 23, rankOf: (_l, p) => (p === "up_proj" ? upRank : 8) }), scaling: (_l, p) => loraScaling(p === "up_proj" ? upRank : 8, 8) };
    const [pa, pb, pc] = [a, b, c].map(prepareFixture);
    const weights = [0.5, -0.25, 1.5];
    const feeds = composeAdapters(arch, [{ adapter: pa!.prepared, weight: weights[0]! }, { adapter: pb!.prepared, weight: weights[1]! }, { adapter: pc!.prepared, weight: weights[2]! }], { maxRank: 64 });
    expect(feeds.dora).toBe(false);
    expect(feeds.layers[0]!.qkv!.rank).toBe(2 + 2 + 8); // a: q, k; c: v
    expect(feeds.layers[1]!.qkv!.rank).toBe(2 + 2 + 4 + 8); // + b: q
    expect(feeds.layers[0]!.o).toBeUndefined();
    expect(feeds.layers[2]!.gate_up!.rank).toBe(4 + 8 + upRank);
    const merged = mergeLoraDeltas(base, referenceDeltas([{ fixture: a, dir: pa!.dir, weight: weights[0]! }, { fixture: b, dir: pb!.dir, weight: weights[1]! }, { fixture: c, dir: pc!.dir, weight: weights[2]! }]));
    expect(expectFeedsMatch(feeds, merged, 300)).toBe(3 + 3 + 3 + 2); // qkv ×3, down ×3, gate_up ×3, o ×2
  });

  it("a single adapter with another weight scales its delta", () => {
    const fixture = fixtures.rslora();
    const { prepared, dir } = prepareFixture(fixture);
    const feeds = composeAdapters(arch, [{ adapter: prepared, weight: 0.3 }]);
    expectFeedsMatch(feeds, mergeLoraDeltas(base, referenceDeltas([{ fixture, dir, weight: 0.3 }])), 400);
  });
});

describe("serializePreparedAdapter / deserializePreparedAdapter", () => {
  it("round-trips to identical feeds (plain and DoRA) and stores no block zeros", () => {
    for (const fixture of [fixtures.patterns(), fixtures.dora()]) {
      const { prepared } = prepareFixture(fixture);
      const bytes = serializePreparedAdapter(prepared, arch);
      const back = deserializePreparedAdapter(bytes, arch);
      expect(back.dora).toBe(prepared.dora);
      expect(back.bytes).toBe(prepared.bytes);
      expect(back.feeds).toEqual(prepared.feeds);
      expect(bytes.byteLength).toBeLessThan(prepared.bytes);
    }
  });

  it("the compact form (with the PEFT adapter) gives bit for bit the prepared feeds, and keeps 16-bit adapters at 2 bytes a value", () => {
    for (const fixture of [fixtures.rslora(), fixtures.patterns(), fixtures.dora()]) {
      const { prepared, peft } = prepareFixture(fixture);
      const compact = serializePreparedAdapter(prepared, arch, peft);
      const back = deserializePreparedAdapter(compact, arch);
      expect(back.dora).toBe(prepared.dora);
      expect(back.feeds).toEqual(prepared.feeds);
      const dtypes = new Set([...parseSafetensors(compact)].filter(([k]) => !k.endsWith(".scale")).map(([, t]) => t.dtype));
      expect(dtypes).toEqual(new Set([fixture.dtype]));
      const f32 = serializePreparedAdapter(prepared, arch);
      if (fixture.dtype !== "F32") expect(compact.byteLength).toBeLessThan(0.6 * f32.byteLength);
    }
  });

  it("refuses a stored adapter for another architecture or base, and corrupt data", () => {
    const { prepared } = prepareFixture(fixtures.plain());
    const bytes = serializePreparedAdapter({ ...prepared, baseId: "sha-a" }, arch);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as LoraEdgeError).status, (e as LoraEdgeError).code, (e as LoraEdgeError).message];
      }
      return null;
    };
    expect(code(() => deserializePreparedAdapter(bytes, { ...arch, num_hidden_layers: 4 }))).toEqual([409, "adapter_base_mismatch", expect.stringMatching(/made for dims/)]);
    expect(code(() => deserializePreparedAdapter(bytes, arch, { baseId: "sha-b" }))).toEqual([409, "adapter_base_mismatch", expect.stringMatching(/made for base sha-a, not sha-b/)]);
    expect(deserializePreparedAdapter(bytes, arch, { baseId: "sha-a" }).baseId).toBe("sha-a");
    expect(code(() => deserializePreparedAdapter(bytes.subarray(0, bytes.length - 4), arch))).toEqual([500, "invalid_prepared_adapter", expect.stringMatching(/out of bounds/)]);
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(nan.length - 4, NaN, true);
    expect(code(() => deserializePreparedAdapter(nan, arch))).toEqual([500, "invalid_prepared_adapter", expect.stringMatching(/contains NaN/)]);
  });
});
