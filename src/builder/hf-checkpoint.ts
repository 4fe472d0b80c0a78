/**
 * Read a Hugging Face checkpoint directory as `save_pretrained` writes it for LlamaForCausalLM,
 * Qwen2ForCausalLM and SmolLM-style models: `config.json`, `model.safetensors` or sharded
 * `model.safetensors.index.json`, and the tokenizer files (the chat template from tokenizer_config.json
 * or chat_template.jinja). Tensors may be F32, F16 or BF16; RoPE plain or Llama 3 scaled.
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { parseSafetensors, toFloat32 } from "../adapters/safetensors.ts";
import { architectureSchema, type Architecture } from "../runtime/manifest.ts";
import type { HfWeights } from "./llama-graph.ts";

const SUPPORTED = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"];

/** `config.json`: the manifest's required dims under the same names, plus HF's optional fields. */
const hfConfigSchema = z.looseObject({
  ...architectureSchema.pick({
    model_type: true, vocab_size: true, hidden_size: true, intermediate_size: true, num_hidden_layers: true,
    num_attention_heads: true, max_position_embeddings: true, rms_norm_eps: true,
  }).shape,
  architectures: z.array(z.string()).optional(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().nullish(),
  rope_theta: z.number().positive().optional(),
  /** transformers ≥ 5 writes `rope_parameters: {rope_theta, rope_type}` instead of `rope_theta` */
  rope_parameters: z.looseObject({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional() }).nullish(),
  use_sliding_window: z.boolean().optional(),
  tie_word_embeddings: z.boolean().default(false),
  attention_bias: z.boolean().optional(),
  hidden_act: z.string().default("silu"),
  rope_scaling: z.unknown().optional(),
  torch_dtype: z.string().optional(),
  dtype: z.string().optional(),
});

const llama3ScalingSchema = z.object({
  factor: z.number().positive(),
  low_freq_factor: z.number().positive(),
  high_freq_factor: z.number().positive(),
  original_max_position_embeddings: z.number().int().positive(),
});

/** `config.json` → the manifest's architecture; refuses what the graph does not implement. */
export function architectureFromHfConfig(json: unknown): Architecture {
  const c = hfConfigSchema.parse(json);
  const arch = c.architectures?.[0] ?? "";
  if (!SUPPORTED.includes(arch)) throw new Error(`config.json: architectures[0] is "${arch}"; supported: ${SUPPORTED.join(", ")}`);
  if (c.hidden_act !== "silu") throw new Error(`config.json: hidden_act "${c.hidden_act}" is not supported (SwiGLU with silu only)`);
  // transformers < 5 writes `rope_scaling: {rope_type | type, factor, ...}`; ≥ 5 `rope_parameters: {rope_type, rope_theta, factor, ...}`
  const scaling = (c.rope_scaling ?? c.rope_parameters ?? {}) as Record<string, unknown>;
  const ropeType = String(scaling["rope_type"] ?? scaling["type"] ?? "default");
  if (ropeType !== "default" && ropeType !== "llama3") throw new Error(`config.json: rope_type "${ropeType}" is not supported (default and llama3 are)`);
  const rope_scaling = ropeType === "llama3" ? llama3ScalingSchema.parse(scaling) : undefined;
  if (c.use_sliding_window) throw new Error("config.json: sliding-window attention is not supported");
  return {
    family: "llama",
    model_type: c.model_type,
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads ?? c.num_attention_heads,
    head_dim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    max_position_embeddings: c.max_position_embeddings,
    rope_theta: c.rope_parameters?.rope_theta ?? c.rope_theta ?? 10000,
    ...(rope_scaling ? { rope_scaling: { rope_type: "llama3" as const, ...rope_scaling } } : {}),
    rms_norm_eps: c.rms_norm_eps,
    tie_word_embeddings: c.tie_word_embeddings,
    // Qwen2 always has q/k/v bias; Llama only with attention_bias
    attention_bias: c.attention_bias ?? c.model_type === "qwen2",
  };
}

export type HfCheckpoint = {
  arch: Architecture;
  architectures: string[];
  dtype: string;
  weights: HfWeights;
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  generationConfig: unknown;
};

/**
 * transformers ≥ 5 saves the chat template to `chat_template.jinja` instead of tokenizer_config.json;
 * the package carries it in tokenizer_config.json, where the runtime reads it.
 */
function withChatTemplate(dir: string, config: unknown): unknown {
  const file = join(dir, "chat_template.jinja");
  const c = config as Record<string, unknown>;
  if (c["chat_template"] !== undefined || !existsSync(file)) return config;
  return { ...c, chat_template: readFileSync(file, "utf8") };
}

/**
 * @example const ckpt = readHfCheckpoint("./SmolLM-135M-Instruct"); buildModelPackage({ ...ckpt, ... })
 */
export function readHfCheckpoint(dir: string): HfCheckpoint {
  const readJson = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8")) as unknown;
  const config = readJson("config.json");
  const arch = architectureFromHfConfig(config);
  const shardFiles = existsSync(join(dir, "model.safetensors.index.json"))
    ? [...new Set(Object.values(z.object({ weight_map: z.record(z.string(), z.string()) }).parse(readJson("model.safetensors.index.json")).weight_map))]
    : ["model.safetensors"];
  const weights: HfWeights = new Map();
  const dtypes = new Set<string>();
  for (const file of shardFiles) {
    const tensors = parseSafetensors(new Uint8Array(readFileSync(join(dir, file))));
    for (const [name, t] of tensors) {
      dtypes.add(t.dtype);
      weights.set(name, toFloat32(t));
    }
  }
  if (arch.tie_word_embeddings) weights.delete("lm_head.weight");
  const c = config as { architectures?: string[] };
  return {
    arch,
    architectures: c.architectures ?? [],
    dtype: [...dtypes].sort().join("+"),
    weights,
    tokenizerJson: readJson("tokenizer.json"),
    tokenizerConfig: withChatTemplate(dir, readJson("tokenizer_config.json")),
    generationConfig: existsSync(join(dir, "generation_config.json")) ? readJson("generation_config.json") : {},
  };
}
