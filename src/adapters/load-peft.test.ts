import { describe, expect, it } from "vitest";
import { LoraEdgeError } from "../errors.ts";
import type { Architecture, Projection } from "../runtime/manifest.ts";
import { peftConfig, peftKey, randomPeftTensors, writeSafetensors, type PeftLoraConfig, type SafetensorsDtype } from "../../test/reference/hf-checkpoint.ts";
import type { HfConfig, HfTensor } from "../../test/reference/llama64.ts";
import { loadPeftAdapter, type LoadOptions } from "./load-peft.ts";
import { serializeSafetensors } from "./safetensors.ts";

const arch: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 32, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, rope_theta: 10000,
  rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};
const hf: HfConfig = arch;

/** adapter_config.json and adapter_model.safetensors bytes, as PEFT writes them. */
function files(config: Partial<PeftLoraConfig>, tensors: Map<string, HfTensor>, dtype: SafetensorsDtype = "F32") {
  const st: Record<string, { dtype: SafetensorsDtype; dims: number[]; data: Float32Array }> = {};
  for (const [k, t] of tensors) st[k] = { dtype, dims: t.dims, data: Float32Array.from(t.data) };
  return { config: JSON.stringify(peftConfig(config)), weights: writeSafetensors(st) };
}

function adapterFiles(config: Partial<PeftLoraConfig> & { targets: Projection[] }, edit?: (t: Map<string, HfTensor>) => void) {
  const { targets, ...cfg } = config;
  const tensors = randomPeftTensors(hf, { r: cfg.r ?? 8, targets, seed: 11, ...(cfg.layers_to_transform != null ? { layers: [cfg.layers_to_transform].flat() } : {}) });
  edit?.(tensors);
  return files({ ...cfg, target_modules: cfg.target_modules ?? targets }, tensors);
}

function refusal(f: () => unknown): LoraEdgeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LoraEdgeError);
    expect((e as LoraEdgeError).status).toBe(400);
    return e as LoraEdgeError;
  }
  throw new Error("expected a refusal");
}

function expectRefusal(f: () => unknown, code: string, message: RegExp) {
  const e = refusal(f);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
}

const load = (f: { config: unknown; weights: Uint8Array }, opts?: LoadOptions) => loadPeftAdapter(f, arch, opts);

describe("loadPeftAdapter reads PEFT's layout", () => {
  it("reads lora_A [r, in], lora_B [out, r] and per-module scaling for each targeted layer", () => {
    const a = load(adapterFiles({ r: 4, lora_alpha: 8, targets: ["q_proj", "down_proj"] }));
    expect(a.numLayers).toBe(3);
    expect(a.dora).toBe(false);
    for (let l = 0; l < 3; l++) {
      expect(Object.keys(a.layers[l]!).sort()).toEqual(["down_proj", "q_proj"]);
      const q = a.layers[l]!.q_proj!;
      expect([q.rank, q.alpha, q.scaling, q.A.length, q.B.length]).toEqual([4, 8, 2, 4 * 32, 32 * 4]);
      expect(a.layers[l]!.down_proj!.A.length).toBe(4 * 48);
    }
  });

  it("applies use_rslora, rank_pattern and alpha_pattern per module", () => {
    const tensors = randomPeftTensors(hf, { r: 8, targets: ["q_proj", "v_proj", "o_proj"], seed: 2, rankOf: (l, p) => (p === "v_proj" ? 4 : l === 1 && p === "o_proj" ? 2 : 8) });
    const a = load(files({ r: 8, lora_alpha: 16, use_rslora: true, target_modules: ["q_proj", "v_proj", "o_proj"], rank_pattern: { v_proj: 4, "layers.1.self_attn.o_proj": 2 }, alpha_pattern: { "o_proj": 6 } }, tensors));
    expect(a.layers[0]!.q_proj!.scaling).toBeCloseTo(16 / Math.sqrt(8), 12);
    expect(a.layers[2]!.v_proj!.rank).toBe(4);
    expect(a.layers[2]!.v_proj!.scaling).toBeCloseTo(16 / 2, 12);
    expect(a.layers[1]!.o_proj!.rank).toBe(2);
    expect(a.layers[1]!.o_proj!.scaling).toBeCloseTo(6 / Math.sqrt(2), 12);
    expect(a.layers[0]!.o_proj!.scaling).toBeCloseTo(6 / Math.sqrt(8), 12);
  });

  it("honours layers_to_transform (int and list) and a regex target_modules", () => {
    const one = load(adapterFiles({ layers_to_transform: 1, layers_pattern: "layers", targets: ["k_proj"] }));
    expect(one.layers.map((l) => Object.keys(l))).toEqual([[], ["k_proj"], []]);
    const tensors = randomPeftTensors(hf, { r: 8, targets: ["q_proj", "gate_proj"], seed: 3 });
    const re = load(files({ target_modules: String.raw`model\.layers\.\d+\.(self_attn\.q_proj|mlp\.gate_proj)` }, tensors));
    expect(Object.keys(re.layers[2]!).sort()).toEqual(["gate_proj", "q_proj"]);
  });

  it("reads F16 and BF16 files and both DoRA magnitude key spellings", () => {
    const bf = load({ ...adapterFiles({ targets: ["q_proj"] }), weights: files({}, randomPeftTensors(hf, { r: 8, targets: ["q_proj"], seed: 11 }), "BF16").weights });
    expect(bf.layers[0]!.q_proj!.A.length).toBe(8 * 32);
    const tensors = randomPeftTensors(hf, { r: 2, targets: ["up_proj"], seed: 4, base: new Map(Array.from({ length: 3 }, (_, l) => [`model.layers.${l}.mlp.up_proj.weight`, { dims: [48, 32], data: new Float32Array(48 * 32).fill(0.1) }])) });
    const renamed = new Map([...tensors].map(([k, v]) => [k.endsWith("lora_magnitude_vector") ? `${k}.weight` : k, v]));
    for (const t of [tensors, renamed]) {
      const d = load(files({ r: 2, use_dora: true, target_modules: ["up_proj"] }, t, "F16"));
      expect(d.dora).toBe(true);
      expect(d.layers[1]!.up_proj!.magnitude!.length).toBe(48);
    }
  });

  it("accepts fan_in_fan_out weights stored transposed, and PEFT's own (untransposed) layout", () => {
    const tensors = randomPeftTensors(hf, { r: 4, targets: ["o_proj"], seed: 5 });
    const transposed = new Map([...tensors].map(([k, t]) => {
      const [rows, cols] = t.dims as [number, number];
      const data = new Float32Array(t.data.length);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[j * rows + i] = t.data[i * cols + j]!;
      return [k, { dims: [cols, rows], data }];
    }));
    const a = load(files({ r: 4, fan_in_fan_out: true, target_modules: ["o_proj"] }, transposed));
    const b = load(files({ r: 4, fan_in_fan_out: true, target_modules: ["o_proj"] }, tensors));
    expect(a.layers[2]!.o_proj!.A).toEqual(b.layers[2]!.o_proj!.A);
    expect(a.layers[2]!.o_proj!.B).toEqual(b.layers[2]!.o_proj!.B);
    expect(Array.from(b.layers[2]!.o_proj!.A)).toEqual(Array.from(tensors.get(peftKey(2, "o_proj", "lora_A"))!.data, Math.fround));
  });
});

describe("loadPeftAdapter refuses what lora-edge cannot serve", () => {
  it("non-LORA peft_type", () => expectRefusal(() => load(adapterFiles({ peft_type: "LOHA" as "LORA", targets: ["q_proj"] })), "unsupported_peft_type", /peft_type is "LOHA"/));
  it("bias other than none, and lora_bias", () => {
    expectRefusal(() => load(adapterFiles({ bias: "all", targets: ["q_proj"] })), "unsupported_bias", /bias is "all"/);
    expectRefusal(() => load(adapterFiles({ bias: "lora_only", targets: ["q_proj"] })), "unsupported_bias", /bias is "lora_only"/);
    expectRefusal(() => load(adapterFiles({ lora_bias: true, targets: ["q_proj"] })), "unsupported_bias", /lora_bias/);
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => t.set("base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias", { dims: [32], data: new Float32Array(32) }))), "unsupported_bias", /lora_B\.bias is a LoRA bias/);
  });
  it("modules_to_save", () => {
    expectRefusal(() => load(adapterFiles({ modules_to_save: ["lm_head"], targets: ["q_proj"] })), "unsupported_modules_to_save", /modules_to_save is \["lm_head"\]/);
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => t.set("base_model.model.lm_head.modules_to_save.default.weight", { dims: [1], data: new Float32Array(1) }))), "unsupported_modules_to_save", /fully trained module/);
  });
  it("embedding and lm_head targets", () => {
    expectRefusal(() => load(adapterFiles({ target_modules: ["q_proj", "embed_tokens"], targets: ["q_proj"] })), "unsupported_target", /selects model\.embed_tokens \(the token embedding\)/);
    expectRefusal(() => load(adapterFiles({ target_modules: ["lm_head"], targets: ["q_proj"] })), "unsupported_target", /selects lm_head \(the output layer\)/);
    expectRefusal(() => load(adapterFiles({ target_modules: ".*(q_proj|lm_head)", targets: ["q_proj"] })), "unsupported_target", /lm_head/);
    expectRefusal(() => load(adapterFiles({ target_modules: ["input_layernorm"], targets: ["q_proj"] })), "unsupported_target", /model\.layers\.0\.input_layernorm, which is not a linear projection/);
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => t.set("base_model.model.model.embed_tokens.lora_embedding_A", { dims: [8, 32], data: new Float32Array(256) }))), "unsupported_target", /adapts an embedding/);
  });
  it("projections the graph has no LoRA input for", () => {
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj", "up_proj"] }), { targets: ["q_proj", "k_proj", "v_proj", "o_proj"] }), "unsupported_target", /model\.layers\.0\.mlp\.up_proj, but the base model's graph has LoRA inputs only for q_proj, k_proj, v_proj, o_proj/);
  });
  it("a module the base does not have, named", () => {
    expectRefusal(() => load(adapterFiles({ target_modules: ["q_proj", "c_attn"], targets: ["q_proj"] })), "unknown_module", /target_modules entry "c_attn" names no module of the base model/);
    expectRefusal(() => load(adapterFiles({ target_modules: ".*\\.fc1", targets: ["q_proj"] })), "unknown_module", /selects no module of the base model/);
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => {
      t.set("base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", { dims: [8, 32], data: new Float32Array(256) });
    })), "unknown_module", /names module model\.layers\.7\.self_attn\.q_proj, which the base model \(3 layers\) does not have/);
  });
  it("a shape that does not match the base, naming key, expected and got", () => {
    expectRefusal(() => load(adapterFiles({ targets: ["k_proj"] }, (t) => t.set(peftKey(1, "k_proj", "lora_B"), { dims: [32, 8], data: new Float32Array(256) }))),
      "shape_mismatch", /base_model\.model\.model\.layers\.1\.self_attn\.k_proj\.lora_B\.weight: expected shape \[16, 8\], got \[32, 8\]/);
    // rank in the file differs from the config's r
    expectRefusal(() => load(files({ r: 8, target_modules: ["q_proj"] }, randomPeftTensors(hf, { r: 4, targets: ["q_proj"], seed: 1 }))),
      "shape_mismatch", /q_proj\.lora_A\.weight: expected shape \[8, 32\], got \[4, 32\] \(rank 8 from the config's r\)/);
  });
  it("rank above the configured maximum, per module and per fused group", () => {
    expectRefusal(() => load(adapterFiles({ r: 16, targets: ["q_proj"] }), { maxRank: 8 }), "rank_too_large", /model\.layers\.0\.self_attn\.q_proj has rank 16, above the base model's max_rank 8/);
    expectRefusal(() => load(adapterFiles({ r: 8, targets: ["q_proj", "k_proj", "v_proj"] }), { maxRank: 16 }), "rank_too_large", /layer 0 group qkv needs rank 24 \(q_proj 8 \+ k_proj 8 \+ v_proj 8\), above the base model's max_rank 16/);
    expect(load(adapterFiles({ r: 8, targets: ["q_proj", "k_proj"] }), { maxRank: 16 }).layers[0]!.k_proj!.rank).toBe(8);
  });
  it("NaN and Inf weights, naming the key", () => {
    expectRefusal(() => load(adapterFiles({ targets: ["v_proj"] }, (t) => { t.get(peftKey(2, "v_proj", "lora_B"))!.data[5] = NaN; })), "non_finite_weight", /layers\.2\.self_attn\.v_proj\.lora_B\.weight contains NaN at index 5/);
    expectRefusal(() => load(adapterFiles({ targets: ["v_proj"] }, (t) => { t.get(peftKey(0, "v_proj", "lora_A"))!.data[0] = -Infinity; })), "non_finite_weight", /layers\.0\.self_attn\.v_proj\.lora_A\.weight contains -Infinity at index 0/);
  });
  it("a missing lora_A / lora_B / DoRA magnitude", () => {
    expectRefusal(() => load(adapterFiles({ targets: ["gate_proj"] }, (t) => t.delete(peftKey(1, "gate_proj", "lora_B")))), "missing_lora_weight", /model\.layers\.1\.mlp\.gate_proj is targeted but base_model\.model\.model\.layers\.1\.mlp\.gate_proj\.lora_B\.weight is missing/);
    expectRefusal(() => load(adapterFiles({ targets: ["gate_proj"] }, (t) => t.delete(peftKey(0, "gate_proj", "lora_A")))), "missing_lora_weight", /lora_A\.weight is missing/);
    expectRefusal(() => load(adapterFiles({ use_dora: true, targets: ["gate_proj"] })), "missing_lora_weight", /lora_magnitude_vector \(use_dora is true\) is missing/);
  });
  it("missing or malformed config fields", () => {
    const w = adapterFiles({ targets: ["q_proj"] }).weights;
    const { r: _r, ...noR } = peftConfig({});
    expectRefusal(() => load({ config: noR, weights: w }), "invalid_adapter_config", /r: Invalid input: expected number/);
    const { target_modules: _t, ...noTargets } = peftConfig({});
    expectRefusal(() => load({ config: noTargets, weights: w }), "invalid_adapter_config", /target_modules/);
    expectRefusal(() => load({ config: "{r: 8", weights: w }), "invalid_adapter_config", /not valid JSON/);
    expectRefusal(() => load({ config: { ...peftConfig({}), r: 0 }, weights: w }), "invalid_adapter_config", /^adapter_config\.json: r: /);
    expectRefusal(() => load({ config: { ...peftConfig({}), target_modules: "q_proj(", layers_to_transform: null }, weights: w }), "invalid_adapter_config", /not a regular expression/);
    expectRefusal(() => load(adapterFiles({ target_modules: ".*q_proj", layers_to_transform: [0], targets: ["q_proj"] })), "invalid_adapter_config", /layers_to_transform and layers_pattern cannot be used when target_modules is a regex/);
  });
  it("configs that change the base or the forward (layer_replication, aLoRA, QALoRA, PiSSA init)", () => {
    const f = adapterFiles({ targets: ["q_proj"] });
    expectRefusal(() => load({ ...f, config: { ...peftConfig({ target_modules: ["q_proj"] }), layer_replication: [[0, 2]] } }), "unsupported_config", /layer_replication is set \(\[\[0,2\]\]\)/);
    expectRefusal(() => load({ ...f, config: { ...peftConfig({ target_modules: ["q_proj"] }), alora_invocation_tokens: [5, 6] } }), "unsupported_config", /alora_invocation_tokens is set/);
    expectRefusal(() => load({ ...f, config: { ...peftConfig({ target_modules: ["q_proj"] }), use_qalora: true } }), "unsupported_config", /use_qalora is set/);
    expectRefusal(() => load({ ...f, config: { ...peftConfig({ target_modules: ["q_proj"] }), init_lora_weights: "pissa_niter_4" } }), "unsupported_config", /init_lora_weights is "pissa_niter_4": this initialization rewrites the base weights/);
    expect(load({ ...f, config: { ...peftConfig({ target_modules: ["q_proj"] }), use_qalora: false, alora_invocation_tokens: null, init_lora_weights: "gaussian" } }).layers[0]!.q_proj!.rank).toBe(8);
  });
  it("keys that match no targeted module, or are not LoRA tensors", () => {
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => t.set(peftKey(0, "k_proj", "lora_A"), { dims: [8, 32], data: new Float32Array(256) }))),
      "unexpected_key", /base_model\.model\.model\.layers\.0\.self_attn\.k_proj\.lora_A\.weight matches no targeted module \(target_modules \["q_proj"\]\)/);
    expectRefusal(() => load(adapterFiles({ layers_to_transform: [0], targets: ["q_proj"] }, (t) => t.set(peftKey(2, "q_proj", "lora_A"), { dims: [8, 32], data: new Float32Array(256) }))),
      "unexpected_key", /layers\.2\.self_attn\.q_proj\.lora_A\.weight matches no targeted module \(target_modules \["q_proj"\], layers_to_transform \[0\]\)/);
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => t.set("model.layers.0.self_attn.q_proj.weight", { dims: [1], data: new Float32Array(1) }))), "unexpected_key", /model\.layers\.0\.self_attn\.q_proj\.weight is not a PEFT LoRA tensor/);
    expectRefusal(() => load(adapterFiles({ targets: ["q_proj"] }, (t) => t.set(peftKey(0, "q_proj", "lora_magnitude_vector"), { dims: [32], data: new Float32Array(32) }))), "unexpected_key", /is a DoRA magnitude but use_dora is false/);
  });
  it("non-float dtypes", () => {
    const tensors = randomPeftTensors(hf, { r: 8, targets: ["q_proj"], seed: 1 });
    const st: Record<string, { dtype: "F32" | "I32"; shape: number[]; data: ArrayBufferView }> = {};
    for (const [k, t] of tensors) st[k] = { dtype: k.includes("lora_A") && k.includes("layers.1.") ? "I32" : "F32", shape: t.dims, data: Float32Array.from(t.data) };
    expectRefusal(() => load({ config: peftConfig({ target_modules: ["q_proj"] }), weights: serializeSafetensors(st) }), "unsupported_dtype", /layers\.1\.self_attn\.q_proj\.lora_A\.weight is I32/);
  });
  it("corrupt safetensors", () => {
    const f = adapterFiles({ targets: ["q_proj"] });
    expectRefusal(() => load({ ...f, weights: f.weights.subarray(0, f.weights.length - 1) }), "invalid_safetensors", /out of bounds/);
  });
});
