/**
 * Hugging Face checkpoint and PEFT adapter directories for tests, written the way transformers'
 * `save_pretrained` and PEFT's `PeftModel.save_pretrained` write them, plus seeded random models
 * and adapters. Separate from the product's builder and adapter loader on purpose: tests feed these
 * files to the product and compare against `llama64.ts`.
 *
 * safetensors layout (huggingface/safetensors): 8-byte little-endian header length N, N bytes of
 * compact JSON (`__metadata__` first, then each tensor's `dtype`, `shape`, `data_offsets`), padded
 * with spaces to a multiple of 8, then the data; tensors sorted by dtype (F32, BF16, F16) then name.
 * Checked once against Python safetensors 0.8.0 `save(..., metadata={"format": "pt"})`: identical
 * bytes for F32, F16 and mixed files (numpy has no bf16).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";
import { headDim, type HfConfig, type HfTensor, type HfWeights } from "./llama64.ts";
import { createRng, randn } from "./random.ts";

export type SafetensorsDtype = "F32" | "F16" | "BF16";

/** One tensor to store: float32 values, converted to `dtype` on write. */
export type SafetensorsTensor = { dtype: SafetensorsDtype; dims: number[]; data: Float32Array };

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
// safetensors sorts tensors by its Dtype enum descending (F16 < BF16 < F32), then by name
const DTYPE_ORDER: Record<SafetensorsDtype, number> = { F16: 0, BF16: 1, F32: 2 };
const TORCH_DTYPE: Record<SafetensorsDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/**
 * Serialize tensors to safetensors bytes; F16/BF16 are rounded to nearest even.
 * @example
 * const bytes = writeSafetensors({ w: { dtype: "BF16", dims: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
 */
export function writeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata: Record<string, string> | null = { format: "pt" },
): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => {
    const byDtype = DTYPE_ORDER[tensors[b]!.dtype] - DTYPE_ORDER[tensors[a]!.dtype];
    return byDtype !== 0 ? byDtype : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`${name}: dims [${t.dims}] hold ${count} values, data has ${t.data.length}`);
    const size = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.dims, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const name of names) {
    const { dtype, data } = tensors[name]!;
    for (let i = 0; i < data.length; i++, p += BYTES[dtype]) {
      if (dtype === "F32") view.setFloat32(p, data[i]!, true);
      else view.setUint16(p, dtype === "F16" ? f32ToF16(data[i]!) : f32ToBf16(data[i]!), true);
    }
  }
  return out;
}

/**
 * Parse safetensors bytes (F32/F16/BF16) back to float32 tensors, in file order. Test-side reader only.
 * @example const { tensors } = readSafetensors(readFileSync("model.safetensors"));
 */
export function readSafetensors(bytes: Uint8Array): {
  metadata: Record<string, string> | undefined;
  tensors: Map<string, SafetensorsTensor>;
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const { __metadata__: metadata, ...entries } = header as { __metadata__?: Record<string, string> };
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, info] of Object.entries(entries) as [string, { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] }][]) {
    const { dtype, shape, data_offsets: [begin, end] } = info;
    if (!(dtype in BYTES)) throw new Error(`${name}: unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype] || 8 + n + end > bytes.length) throw new Error(`${name}: bad data_offsets [${begin}, ${end}]`);
    const data = new Float32Array(count);
    for (let i = 0, p = 8 + n + begin; i < count; i++, p += BYTES[dtype]) {
      if (dtype === "F32") data[i] = view.getFloat32(p, true);
      else data[i] = dtype === "F16" ? f16ToF32(view.getUint16(p, true)) : bf16ToF32(view.getUint16(p, true));
    }
    tensors.set(name, { dtype, dims: shape, data });
  }
  return { metadata, tensors };
}

// ---- models ----

/** The seven LoRA-able projections of a Llama layer, by PEFT target-module name. */
export type ProjectionName = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";
export const PROJECTIONS: readonly ProjectionName[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/**
 * Module path of a projection inside layer `layer`: `model.layers.{i}.self_attn.q_proj`.
 * @example projectionPath(3, "up_proj") === "model.layers.3.mlp.up_proj"
 */
export function projectionPath(layer: number, proj: ProjectionName): string {
  const block = proj === "gate_proj" || proj === "up_proj" || proj === "down_proj" ? "mlp" : "self_attn";
  return `model.layers.${layer}.${block}.${proj}`;
}

/**
 * nn.Linear weight dims [out, in] of a projection.
 * @example projectionShape(config, "k_proj") // [num_key_value_heads · head_dim, hidden_size]
 */
export function projectionShape(config: HfConfig, proj: ProjectionName): [number, number] {
  const { hidden_size: d, intermediate_size: ff } = config;
  const q = config.num_attention_heads * headDim(config);
  const kv = config.num_key_value_heads * headDim(config);
  const shapes: Record<ProjectionName, [number, number]> = {
    q_proj: [q, d], k_proj: [kv, d], v_proj: [kv, d], o_proj: [d, q],
    gate_proj: [ff, d], up_proj: [ff, d], down_proj: [d, ff],
  };
  return shapes[proj];
}

/**
 * Seeded random HF-named weights in `model.state_dict()` order: linears and embeddings N(0, std²),
 * norm weights 1 + N(0, 0.1²), q/k/v biases N(0, 0.1²) when `attention_bias`, lm_head unless tied.
 * @example const weights = randomHfWeights(config, 7); forwardLogits(config, weights, [1, 2, 3]);
 */
export function randomHfWeights(config: HfConfig, seed: number, std = 0.02): HfWeights {
  const rng = createRng(seed);
  const weights: HfWeights = new Map();
  const put = (name: string, dims: number[], sd: number, mean = 0) => {
    weights.set(name, { dims, data: Float32Array.from(randn(rng, dims.reduce((a, b) => a * b, 1), sd, mean)) });
  };
  const { hidden_size: d, vocab_size: V } = config;
  put("model.embed_tokens.weight", [V, d], std);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const proj of PROJECTIONS) {
      const [out, n] = projectionShape(config, proj);
      put(`${projectionPath(l, proj)}.weight`, [out, n], std);
      if (config.attention_bias && (proj === "q_proj" || proj === "k_proj" || proj === "v_proj")) {
        put(`${projectionPath(l, proj)}.bias`, [out], 0.1);
      }
    }
    put(`model.layers.${l}.input_layernorm.weight`, [d], 0.1, 1);
    put(`model.layers.${l}.post_attention_layernorm.weight`, [d], 0.1, 1);
  }
  put("model.norm.weight", [d], 0.1, 1);
  if (!config.tie_word_embeddings) put("lm_head.weight", [V, d], std);
  return weights;
}

/** `config.json` as transformers writes it for LlamaForCausalLM, or Qwen2ForCausalLM when `attention_bias`. */
export function hfConfigJson(config: HfConfig, dtype: SafetensorsDtype): Record<string, unknown> {
  const common = {
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    head_dim: headDim(config),
    hidden_act: "silu",
    hidden_size: config.hidden_size,
    initializer_range: 0.02,
    intermediate_size: config.intermediate_size,
    max_position_embeddings: config.max_position_embeddings,
    num_attention_heads: config.num_attention_heads,
    num_hidden_layers: config.num_hidden_layers,
    num_key_value_heads: config.num_key_value_heads,
    rms_norm_eps: config.rms_norm_eps,
    rope_scaling: null,
    rope_theta: config.rope_theta,
    tie_word_embeddings: config.tie_word_embeddings,
    torch_dtype: TORCH_DTYPE[dtype],
    transformers_version: "4.51.3",
    use_cache: true,
    vocab_size: config.vocab_size,
  };
  return config.attention_bias
    ? { ...common, architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", max_window_layers: config.num_hidden_layers, sliding_window: null, use_sliding_window: false }
    : { ...common, architectures: ["LlamaForCausalLM"], model_type: "llama", attention_bias: false, mlp_bias: false, pretraining_tp: 1 };
}

/**
 * Write `config.json` and `model.safetensors`, or with `shards: N` (N > 1) the files
 * `model-0000i-of-0000N.safetensors` (contiguous runs of the state dict, about equal bytes) and
 * `model.safetensors.index.json`, as `save_pretrained` does. A tied lm_head is not written.
 * @example writeHfCheckpoint(dir, config, randomHfWeights(config, 1), { dtype: "BF16", shards: 2 });
 */
export function writeHfCheckpoint(dir: string, config: HfConfig, weights: HfWeights, options: { dtype: SafetensorsDtype; shards?: number }): void {
  const { dtype, shards = 1 } = options;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), pythonJson(hfConfigJson(config, dtype)) + "\n");
  const names = [...weights.keys()].filter((name) => !(config.tie_word_embeddings && name === "lm_head.weight"));
  const tensor = (name: string): SafetensorsTensor => {
    const t = weights.get(name)!;
    return { dtype, dims: t.dims, data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) };
  };
  if (shards <= 1) {
    writeFileSync(join(dir, "model.safetensors"), writeSafetensors(Object.fromEntries(names.map((n) => [n, tensor(n)]))));
    return;
  }
  if (names.length < shards) throw new Error(`${names.length} tensors cannot fill ${shards} shards`);
  const bytes = names.map((n) => weights.get(n)!.data.length * BYTES[dtype]);
  const total = bytes.reduce((a, b) => a + b, 0);
  const groups: string[][] = Array.from({ length: shards }, () => []);
  let shard = 0;
  let before = 0;
  names.forEach((name, i) => {
    // the shard holding this tensor's first byte, never skipping one and leaving one tensor per later shard
    const target = Math.floor((before * shards) / total);
    shard = Math.min(Math.max(shard, target, shards - (names.length - i)), shard + 1, shards - 1);
    groups[shard]!.push(name);
    before += bytes[i]!;
  });
  const fileName = (i: number) => `model-${pad5(i + 1)}-of-${pad5(shards)}.safetensors`;
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    writeFileSync(join(dir, fileName(i)), writeSafetensors(Object.fromEntries(group.map((n) => [n, tensor(n)]))));
    for (const name of group) weightMap[name] = fileName(i);
  });
  writeFileSync(join(dir, "model.safetensors.index.json"), pythonJson({ metadata: { total_size: total }, weight_map: weightMap }) + "\n");
}

/**
 * Read a checkpoint directory (single file or sharded) back into HfConfig and float32 HfWeights.
 * @example const { config, weights } = readHfCheckpoint(dir);
 */
export function readHfCheckpoint(dir: string): { config: HfConfig; weights: HfWeights } {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as HfConfig & { model_type: string };
  if (config.model_type === "qwen2") config.attention_bias = true;
  const index = join(dir, "model.safetensors.index.json");
  const files = existsSync(index)
    ? [...new Set(Object.values((JSON.parse(readFileSync(index, "utf8")) as { weight_map: Record<string, string> }).weight_map))]
    : ["model.safetensors"];
  const weights: HfWeights = new Map();
  for (const file of files) {
    for (const [name, t] of readSafetensors(readFileSync(join(dir, file))).tensors) weights.set(name, { dims: t.dims, data: t.data });
  }
  return { config, weights };
}

// ---- PEFT adapters ----

/** PEFT's LoraConfig as `adapter_config.json` stores it (PEFT 0.15 field set). */
export type PeftLoraConfig = {
  alpha_pattern: Record<string, number>;
  auto_mapping: null;
  base_model_name_or_path: string | null;
  bias: "none" | "all" | "lora_only";
  corda_config: null;
  eva_config: null;
  exclude_modules: string[] | string | null;
  fan_in_fan_out: boolean;
  inference_mode: boolean;
  init_lora_weights: boolean;
  layer_replication: null;
  layers_pattern: string | null;
  layers_to_transform: number[] | number | null;
  loftq_config: Record<string, never>;
  lora_alpha: number;
  lora_bias: boolean;
  lora_dropout: number;
  megatron_config: null;
  megatron_core: string;
  modules_to_save: string[] | null;
  peft_type: "LORA";
  r: number;
  rank_pattern: Record<string, number>;
  revision: string | null;
  target_modules: string[] | string;
  task_type: "CAUSAL_LM";
  trainable_token_indices: null;
  use_dora: boolean;
  use_rslora: boolean;
};

/**
 * A full adapter_config with PEFT's defaults under the given fields.
 * @example peftConfig({ r: 8, lora_alpha: 16, target_modules: ["q_proj", "v_proj"] })
 */
export function peftConfig(fields: Partial<PeftLoraConfig>): PeftLoraConfig {
  return {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: "lora-edge/test-base", bias: "none",
    corda_config: null, eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null,
    loftq_config: {}, lora_alpha: 8, lora_bias: false, lora_dropout: 0.0, megatron_config: null,
    megatron_core: "megatron.core", modules_to_save: null, peft_type: "LORA", r: 8, rank_pattern: {},
    revision: null, target_modules: ["q_proj", "v_proj"], task_type: "CAUSAL_LM", trainable_token_indices: null,
    use_dora: false, use_rslora: false,
    ...fields,
  };
}

/**
 * PEFT's saved key (adapter name `default` already stripped, as `save_pretrained` does):
 * `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`, `….lora_B.weight`, `….lora_magnitude_vector`.
 * @example peftKey(0, "q_proj", "lora_A") === "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
 */
export function peftKey(layer: number, proj: ProjectionName, part: "lora_A" | "lora_B" | "lora_magnitude_vector"): string {
  const suffix = part === "lora_magnitude_vector" ? part : `${part}.weight`;
  return `base_model.model.${projectionPath(layer, proj)}.${suffix}`;
}

/**
 * Write `adapter_config.json` (PEFT defaults filled in, keys sorted as PEFT's json.dumps does) and
 * `adapter_model.safetensors` with the given PEFT-keyed tensors in `dtype`.
 * @example writePeftAdapter(dir, { r: 4, lora_alpha: 8, target_modules: ["q_proj"] }, tensors, "BF16");
 */
export function writePeftAdapter(dir: string, config: Partial<PeftLoraConfig>, tensors: Map<string, HfTensor>, dtype: SafetensorsDtype): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "adapter_config.json"), pythonJson(peftConfig(config)));
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of tensors) out[name] = { dtype, dims: t.dims, data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) };
  writeFileSync(join(dir, "adapter_model.safetensors"), writeSafetensors(out));
}

/**
 * Seeded random PEFT tensors: lora_A [r, in] and lora_B [out, r] ~ N(0, std²) (B non-zero, unlike
 * PEFT's init) for each target in each layer; with `base` given, DoRA magnitudes
 * ‖W‖_row · (1 + N(0, 0.1²)). `rankOf` overrides r per module (what `rank_pattern` expresses).
 * @example const tensors = randomPeftTensors(config, { r: 4, targets: ["q_proj", "down_proj"], seed: 3 });
 */
export function randomPeftTensors(
  config: HfConfig,
  options: { r: number; targets: readonly ProjectionName[]; seed: number; std?: number; layers?: number[]; base?: HfWeights; rankOf?: (layer: number, proj: ProjectionName) => number },
): Map<string, HfTensor> {
  const { r, targets, seed, std = 0.1, base, rankOf = () => r } = options;
  const layers = options.layers ?? Array.from({ length: config.num_hidden_layers }, (_, i) => i);
  const rng = createRng(seed);
  const tensors = new Map<string, HfTensor>();
  for (const l of layers) {
    for (const proj of targets) {
      const [out, n] = projectionShape(config, proj);
      const rank = rankOf(l, proj);
      tensors.set(peftKey(l, proj, "lora_A"), { dims: [rank, n], data: Float32Array.from(randn(rng, rank * n, std)) });
      tensors.set(peftKey(l, proj, "lora_B"), { dims: [out, rank], data: Float32Array.from(randn(rng, out * rank, std)) });
      if (base) {
        const W = base.get(`${projectionPath(l, proj)}.weight`)!.data;
        const m = new Float32Array(out);
        for (let o = 0; o < out; o++) {
          let ss = 0;
          for (let i = 0; i < n; i++) ss += W[o * n + i]! ** 2;
          m[o] = Math.sqrt(ss) * (1 + 0.1 * rng.normal());
        }
        tensors.set(peftKey(l, proj, "lora_magnitude_vector"), { dims: [out], data: m });
      }
    }
  }
  return tensors;
}

/** json.dumps(obj, indent=2, sort_keys=True) for the plain values used here (floats print JS-style). */
function pythonJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
      : Array.isArray(v) ? v.map(sorted) : v;
  return JSON.stringify(sorted(value), null, 2);
}

function pad5(i: number): string {
  return String(i).padStart(5, "0");
}
