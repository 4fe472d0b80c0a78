/**
 * Issue 3's golden checks through the real graph: PEFT-layout adapter directories written by the
 * test (F32/F16/BF16) are loaded, validated, prepared and composed by lora-edge and run by
 * onnxruntime-web; the logits equal the float64 reference with the deltas merged into the weights.
 * The scalings and merges on the reference side are computed here from the configs, independently
 * of src/adapters.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { doraWeight, forwardLogits, loraDelta, mergeLoraDeltas, relL2, type HfConfig, type HfTensor, type HfWeights } from "../reference/llama64.ts";
import { peftKey, projectionPath, randomHfWeights, randomPeftTensors, writePeftAdapter, type PeftLoraConfig, type ProjectionName } from "../reference/hf-checkpoint.ts";
import type { Projection } from "../../src/runtime/manifest.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../reference/half.ts";
import { engineOf, packageOf, servedConfig, servedWeights } from "../support/models.ts";
import type { Engine } from "../../src/runtime/engine.ts";
import { createEngine } from "../support/backend.ts";
import { loadPeftAdapter } from "../../src/adapters/load-peft.ts";
import { prepareAdapter, type PreparedAdapter } from "../../src/adapters/prepare.ts";
import { composeAdapters } from "../../src/adapters/compose.ts";

const config: HfConfig = {
  vocab_size: 320, hidden_size: 64, intermediate_size: 112, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 50_000, rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: true, max_position_embeddings: 64,
};
const base = randomHfWeights(config, 5, 0.15);
const TOKENS = [3, 141, 59, 26, 5, 35, 89, 79, 32, 38, 46];
const ALL: ProjectionName[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
type Dtype = "F32" | "F16" | "BF16";

/** An adapter case: its PEFT config, tensors, and the (layer, projection) → (rank, scaling) PEFT would use. */
type Case = {
  config: Partial<PeftLoraConfig>;
  dtype: Dtype;
  tensors: Map<string, HfTensor>;
  scaling: (layer: number, proj: ProjectionName) => number;
  /** modules the adapter targets, as (layer, proj) */
  modules: [number, ProjectionName][];
  dora?: boolean;
};

const every = (layers: number[], targets: ProjectionName[]) => layers.flatMap((l) => targets.map((p) => [l, p] as [number, ProjectionName]));

function plainCase(seed: number, r: number, alpha: number, targets: ProjectionName[], dtype: Dtype, extra: Partial<PeftLoraConfig> = {}): Case {
  return {
    config: { r, lora_alpha: alpha, target_modules: targets, ...extra },
    dtype,
    tensors: randomPeftTensors(config, { r, targets, seed }),
    scaling: () => (extra.use_rslora ? alpha / Math.sqrt(r) : alpha / r),
    modules: every([0, 1], targets),
  };
}

/** The values the file holds after the dtype round trip (what PEFT, and lora-edge, read back). */
function stored(t: HfTensor, dtype: Dtype): Float64Array {
  if (dtype === "F32") return Float64Array.from(t.data);
  return Float64Array.from(t.data, (v) => (dtype === "F16" ? f16ToF32(f32ToF16(v)) : bf16ToF32(f32ToBf16(v))));
}

/** The float64 reference weights with every case's delta merged, each scaled by its weight. */
function mergedReference(weights: HfWeights, cases: { c: Case; w: number }[]): HfWeights {
  const deltas = new Map<string, Float64Array>();
  let out = weights;
  for (const { c, w } of cases) {
    for (const [l, p] of c.modules) {
      const A = stored(c.tensors.get(peftKey(l, p, "lora_A"))!, c.dtype);
      const B = stored(c.tensors.get(peftKey(l, p, "lora_B"))!, c.dtype);
      const r = c.tensors.get(peftKey(l, p, "lora_A"))!.dims[0]!;
      const name = `${projectionPath(l, p)}.weight`;
      const W = weights.get(name)!;
      const delta = loraDelta({ dims: [r, W.dims[1]!], data: A }, { dims: [W.dims[0]!, r], data: B }, w * c.scaling(l, p));
      if (c.dora) {
        const m = stored(c.tensors.get(peftKey(l, p, "lora_magnitude_vector"))!, c.dtype);
        out = new Map(out).set(name, doraWeight(W, delta, m));
      } else {
        const prev = deltas.get(name);
        deltas.set(name, prev ? prev.map((v, i) => v + delta[i]!) : delta);
      }
    }
  }
  return mergeLoraDeltas(out, deltas);
}

function prepared(engine: Engine, baseWeight: (l: number, p: Projection) => Float32Array, c: Case): PreparedAdapter {
  const dir = mkdtempSync(join(tmpdir(), "lora-edge-peft-"));
  writePeftAdapter(dir, c.config, c.tensors, c.dtype);
  const arch = engine.manifest.architecture;
  const peft = loadPeftAdapter({ config: readFileSync(join(dir, "adapter_config.json")), weights: new Uint8Array(readFileSync(join(dir, "adapter_model.safetensors"))) }, arch, { maxRank: engine.manifest.lora.max_rank });
  return prepareAdapter(peft, arch, { baseWeight });
}

async function logitsWith(engine: Engine, cases: { c: Case; w: number }[]) {
  const baseWeight = await engine.baseWeights();
  const lora = composeAdapters(engine.manifest.architecture, cases.map(({ c, w }) => ({ adapter: prepared(engine, baseWeight, c), weight: w })));
  return (await engine.forward(TOKENS, { lora, logitsToKeep: TOKENS.length })).logits;
}

const CASES: Record<string, () => Case> = {
  "plain LoRA (F32, all seven projections)": () => plainCase(1, 4, 8, ALL, "F32"),
  "rsLoRA (BF16)": () => plainCase(2, 4, 8, ALL, "BF16", { use_rslora: true }),
  "rank_pattern / alpha_pattern (F16)": () => {
    const rankOf = (_: number, p: ProjectionName) => (p === "q_proj" ? 2 : p === "down_proj" ? 6 : 4);
    const alphaOf = (p: ProjectionName) => (p === "v_proj" ? 16 : p === "down_proj" ? 3 : 8);
    const targets: ProjectionName[] = ["q_proj", "v_proj", "o_proj", "down_proj"];
    return {
      config: { r: 4, lora_alpha: 8, target_modules: targets, rank_pattern: { q_proj: 2, down_proj: 6 }, alpha_pattern: { v_proj: 16, down_proj: 3 } },
      dtype: "F16",
      tensors: randomPeftTensors(config, { r: 4, targets, seed: 3, rankOf }),
      scaling: (l, p) => alphaOf(p) / rankOf(l, p),
      modules: every([0, 1], targets),
    };
  },
  "layers_to_transform (F32)": () => ({
    config: { r: 4, lora_alpha: 4, target_modules: ["q_proj", "up_proj"], layers_to_transform: [1], layers_pattern: "layers" },
    dtype: "F32",
    tensors: randomPeftTensors(config, { r: 4, targets: ["q_proj", "up_proj"], seed: 4, layers: [1] }),
    scaling: () => 1,
    modules: every([1], ["q_proj", "up_proj"]),
  }),
  "fan_in_fan_out (weights stored transposed, F32)": () => {
    const c = plainCase(6, 3, 6, ["k_proj", "gate_proj"], "F32", { fan_in_fan_out: true });
    // the reference keeps [r,in]/[out,r]; the file holds their transposes, as fan_in_fan_out layers store them
    const file = new Map<string, HfTensor>();
    for (const [k, t] of c.tensors) {
      const [a, b] = t.dims as [number, number];
      const data = new Float32Array(t.data.length);
      for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) data[j * a + i] = t.data[i * b + j]!;
      file.set(k, { dims: [b, a], data });
    }
    return { ...c, fileTensors: file } as Case & { fileTensors: Map<string, HfTensor> };
  },
  "a regex target_modules string (F32)": () => ({
    config: { r: 2, lora_alpha: 4, target_modules: ".*\\.layers\\.0\\.(self_attn\\.k_proj|mlp\\.down_proj)" },
    dtype: "F32",
    tensors: randomPeftTensors(config, { r: 2, targets: ["k_proj", "down_proj"], seed: 8, layers: [0] }),
    scaling: () => 2,
    modules: every([0], ["k_proj", "down_proj"]),
  }),
  "DoRA (F32, all seven projections)": () => ({
    config: { r: 4, lora_alpha: 8, target_modules: ALL, use_dora: true },
    dtype: "F32",
    tensors: randomPeftTensors(config, { r: 4, targets: ALL, seed: 7, base }),
    scaling: () => 2,
    modules: every([0, 1], ALL),
    dora: true,
  }),
};

describe("adapters through the graph equal the float64 merged reference (fp32 weights, rel L2 < 1e-5)", () => {
  const fp32 = engineOf(config, base, "fp32", { dora: true });

  it.each(Object.keys(CASES))("%s", async (name) => {
    const engine = await fp32;
    const c = CASES[name]!();
    const fileCase = "fileTensors" in c ? { ...c, tensors: (c as Case & { fileTensors: Map<string, HfTensor> }).fileTensors } : c;
    const got = await logitsWith(engine, [{ c: fileCase, w: 1 }]);
    const want = forwardLogits(config, mergedReference(base, [{ c, w: 1 }]), TOKENS);
    expect(relL2(got, want)).toBeLessThan(1e-5);
    expect(relL2(forwardLogits(config, base, TOKENS), want), "the adapter changes the model").toBeGreaterThan(1e-3);
  });

  it("weighted composition of three adapters with different ranks, targets and dtypes", async () => {
    const engine = await fp32;
    const cases = [
      { c: plainCase(11, 2, 4, ["q_proj", "v_proj"], "F32"), w: 0.5 },
      { c: plainCase(12, 6, 6, ["v_proj", "o_proj", "down_proj"], "BF16"), w: -0.25 },
      { c: plainCase(13, 4, 8, ["gate_proj", "up_proj", "q_proj"], "F16", { use_rslora: true }), w: 1.5 },
    ];
    const got = await logitsWith(engine, cases);
    expect(relL2(got, forwardLogits(config, mergedReference(base, cases), TOKENS))).toBeLessThan(1e-5);
  });
});

describe("on the quantized default (int8)", () => {
  it("a plain adapter stays within 5e-2 of the reference on the served (dequantized) weights", async () => {
    const pkg = await packageOf(config, base, "int8");
    const engine = await createEngine(pkg);
    const c = plainCase(1, 4, 8, ALL, "F32");
    const got = await logitsWith(engine, [{ c, w: 1 }]);
    const served = servedWeights(pkg, base);
    const want = forwardLogits(servedConfig(pkg, config), mergedReference(served, [{ c, w: 1 }]), TOKENS);
    // the bound is the activation quantization of DynamicQuantizeMatMul, as for the base alone
    expect(relL2(got, want)).toBeLessThan(5e-2);
  });
});
