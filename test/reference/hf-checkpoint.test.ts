import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bf16ToF32, f16ToF32, f32ToBf16 } from "./half.ts";
import {
  PROJECTIONS, peftKey, randomHfWeights, randomPeftTensors, readHfCheckpoint, readSafetensors, writeHfCheckpoint,
  writePeftAdapter, writeSafetensors,
} from "./hf-checkpoint.ts";
import { forwardLogits, relL2, type HfConfig, type HfWeights } from "./llama64.ts";
import { createRng } from "./random.ts";

const config: HfConfig = {
  vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: false, max_position_embeddings: 32,
};
const ids = [1, 7, 30, 2, 11];
const dirs: string[] = [];
const tmp = () => {
  dirs.push(mkdtempSync(join(tmpdir(), "lora-edge-ref-")));
  return dirs.at(-1)!;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const json = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

describe("writeSafetensors", () => {
  it("writes the exact byte layout: u64 LE header length, space-padded JSON, data by dtype then name", () => {
    const bytes = writeSafetensors({
      a: { dtype: "BF16", dims: [1, 3], data: new Float32Array([1, 2, 3]) },
      b: { dtype: "F32", dims: [2], data: new Float32Array([1, -2]) },
    });
    const header = '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"BF16","shape":[1,3],"data_offsets":[8,14]}}';
    const n = Math.ceil(header.length / 8) * 8;
    expect(bytes.length).toBe(8 + n + 14);
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(n));
    expect((8 + n) % 8).toBe(0);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + n))).toBe(header.padEnd(n, " "));
    expect([...bytes.subarray(8 + n)]).toEqual([
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, // F32 1, -2
      0x80, 0x3f, 0x00, 0x40, 0x40, 0x40, // BF16 1, 2, 3
    ]);
  });

  it("orders tensors F32, BF16, F16, each by name, with contiguous offsets", () => {
    const t = (dtype: "F32" | "F16" | "BF16", n: number) => ({ dtype, dims: [n], data: new Float32Array(n).fill(0.5) });
    const bytes = writeSafetensors({ z: t("F16", 3), y: t("F32", 1), c: t("BF16", 2), x: t("F32", 2), a: t("F16", 1) });
    const { tensors } = readSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(["x", "y", "c", "a", "z"]);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { data_offsets: [number, number] }>;
    expect(["x", "y", "c", "a", "z"].map((k) => header[k]!.data_offsets)).toEqual([[0, 8], [8, 12], [12, 16], [16, 18], [18, 24]]);
    expect(bytes.length).toBe(8 + n + 24);
  });

  it("round-trips F32 exactly, and BF16/F16 exactly for values they represent", () => {
    const rng = createRng(5);
    const bits = Array.from({ length: 512 }, () => Math.floor(rng.uniform() * 0x10000)).filter((h) => (h & 0x7f80) !== 0x7f80 && (h & 0x7c00) !== 0x7c00);
    const bf = Float32Array.from(bits, bf16ToF32);
    const hf = Float32Array.from(bits, f16ToF32);
    const f32 = Float32Array.from({ length: 64 }, () => rng.normal());
    const { tensors } = readSafetensors(writeSafetensors({
      bf: { dtype: "BF16", dims: [bits.length], data: bf },
      hf: { dtype: "F16", dims: [bits.length], data: hf },
      f32: { dtype: "F32", dims: [8, 8], data: f32 },
    }));
    expect(tensors.get("bf")!.data).toEqual(bf);
    expect(tensors.get("hf")!.data).toEqual(hf);
    expect(tensors.get("f32")).toEqual({ dtype: "F32", dims: [8, 8], data: f32 });
  });

  it("rounds other values to nearest even on the way out", () => {
    const data = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) * 3);
    const { tensors } = readSafetensors(writeSafetensors({ w: { dtype: "BF16", dims: [32], data } }));
    expect(tensors.get("w")!.data).toEqual(data.map((v) => bf16ToF32(f32ToBf16(v))));
  });

  it("refuses dims that do not match the data", () => {
    expect(() => writeSafetensors({ w: { dtype: "F32", dims: [3], data: new Float32Array(2) } })).toThrow(/dims/);
  });
});

describe("randomHfWeights", () => {
  it("names tensors in HF state-dict order with nn.Linear [out, in] dims and noisy norms", () => {
    const weights = randomHfWeights({ ...config, attention_bias: true, tie_word_embeddings: true }, 1);
    const names = [...weights.keys()];
    expect(names.slice(0, 6)).toEqual([
      "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.bias",
      "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.k_proj.bias", "model.layers.0.self_attn.v_proj.weight",
    ]);
    expect(names.at(-1)).toBe("model.norm.weight");
    expect(weights.get("model.layers.1.self_attn.k_proj.weight")!.dims).toEqual([8, 16]);
    expect(weights.get("model.layers.1.mlp.down_proj.weight")!.dims).toEqual([16, 24]);
    const norm = weights.get("model.norm.weight")!.data;
    expect(norm.every((w) => Math.abs(w - 1) < 0.5)).toBe(true);
    expect(norm.some((w) => w !== 1)).toBe(true);
  });
});

describe("writeHfCheckpoint", () => {
  it("writes config.json and model.safetensors that read back to the same logits (F32)", () => {
    const dir = tmp();
    const weights = randomHfWeights(config, 2, 0.2);
    writeHfCheckpoint(dir, config, weights, { dtype: "F32" });
    expect(readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors"]);
    const cfg = json(join(dir, "config.json"));
    expect(cfg).toMatchObject({ architectures: ["LlamaForCausalLM"], model_type: "llama", torch_dtype: "float32", head_dim: 4, num_key_value_heads: 2, tie_word_embeddings: false });
    const back = readHfCheckpoint(dir);
    expect(forwardLogits(back.config, back.weights, ids)).toEqual(forwardLogits(config, weights, ids));
  });

  it("writes BF16 that reads back as the bf16-rounded weights, and drops a tied lm_head", () => {
    const dir = tmp();
    const tied = { ...config, tie_word_embeddings: true };
    const weights = randomHfWeights(tied, 3, 0.2);
    weights.set("lm_head.weight", weights.get("model.embed_tokens.weight")!);
    writeHfCheckpoint(dir, tied, weights, { dtype: "BF16" });
    const back = readHfCheckpoint(dir);
    expect(json(join(dir, "config.json")).torch_dtype).toBe("bfloat16");
    expect(back.weights.has("lm_head.weight")).toBe(false);
    const rounded: HfWeights = new Map([...weights].map(([name, t]) => [name, { dims: t.dims, data: t.data.map((v) => bf16ToF32(f32ToBf16(v))) }]));
    expect(forwardLogits(back.config, back.weights, ids)).toEqual(forwardLogits(tied, rounded, ids));
    expect(relL2(forwardLogits(back.config, back.weights, ids), forwardLogits(tied, weights, ids))).toBeLessThan(2e-2);
  });

  it("shards like save_pretrained: model-0000i-of-0000N files and an index with total_size and weight_map", () => {
    const dir = tmp();
    const qwen = { ...config, attention_bias: true };
    const weights = randomHfWeights(qwen, 4);
    writeHfCheckpoint(dir, qwen, weights, { dtype: "F16", shards: 3 });
    const shardNames = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"];
    expect(readdirSync(dir).sort()).toEqual(["config.json", ...shardNames, "model.safetensors.index.json"]);
    expect(json(join(dir, "config.json"))).toMatchObject({ architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", torch_dtype: "float16" });
    const index = json(join(dir, "model.safetensors.index.json")) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(Object.keys(index.weight_map)).toEqual([...weights.keys()].sort());
    expect(index.metadata.total_size).toBe([...weights.values()].reduce((a, t) => a + 2 * t.data.length, 0));
    const order = [...weights.keys()];
    let last = -1;
    for (const file of shardNames) {
      const names = [...readSafetensors(readFileSync(join(dir, file))).tensors.keys()];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(index.weight_map[name]).toBe(file);
      // each shard is a contiguous run of the state dict
      const positions = names.map((n) => order.indexOf(n)).sort((a, b) => a - b);
      expect(positions[0]).toBe(last + 1);
      expect(positions.at(-1)! - positions[0]!).toBe(positions.length - 1);
      last = positions.at(-1)!;
    }
    const back = readHfCheckpoint(dir);
    expect(back.config.attention_bias).toBe(true);
    expect(back.weights.size).toBe(weights.size);
  });
});

describe("writePeftAdapter", () => {
  it("writes PEFT's adapter_config.json (all fields, sorted keys) and PEFT-keyed tensors", () => {
    const dir = tmp();
    const base = randomHfWeights(config, 6);
    const tensors = randomPeftTensors(config, { r: 4, targets: PROJECTIONS, seed: 7, base, rankOf: (l, p) => (l === 1 && p === "down_proj" ? 2 : 4) });
    writePeftAdapter(dir, { r: 4, lora_alpha: 8, target_modules: [...PROJECTIONS], use_dora: true, rank_pattern: { "model.layers.1.mlp.down_proj": 2 } }, tensors, "BF16");
    expect(readdirSync(dir).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    const text = readFileSync(join(dir, "adapter_config.json"), "utf8");
    const cfg = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(cfg)).toEqual(Object.keys(cfg).sort());
    expect(text).toContain('\n  "peft_type": "LORA",\n');
    expect(cfg).toMatchObject({
      peft_type: "LORA", r: 4, lora_alpha: 8, use_dora: true, use_rslora: false, bias: "none", modules_to_save: null,
      task_type: "CAUSAL_LM", fan_in_fan_out: false, layers_to_transform: null, alpha_pattern: {}, rank_pattern: { "model.layers.1.mlp.down_proj": 2 },
    });
    expect(cfg).toHaveProperty("base_model_name_or_path");

    const { metadata, tensors: stored } = readSafetensors(readFileSync(join(dir, "adapter_model.safetensors")));
    expect(metadata).toEqual({ format: "pt" });
    expect(stored.size).toBe(2 * 7 * 3);
    expect(peftKey(0, "q_proj", "lora_A")).toBe("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    expect(stored.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")).toMatchObject({ dtype: "BF16", dims: [4, 16] });
    expect(stored.get("base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight")!.dims).toEqual([8, 4]);
    expect(stored.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")!.dims).toEqual([2, 24]);
    expect(stored.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")!.dims).toEqual([16, 2]);
    expect(stored.get("base_model.model.model.layers.0.mlp.gate_proj.lora_magnitude_vector")!.dims).toEqual([24]);
    expect([...stored.keys()].some((k) => k.includes("default"))).toBe(false);
  });
});
