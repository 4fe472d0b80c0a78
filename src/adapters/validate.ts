/**
 * What lora-edge can serve, checked against the base model: every refusal of an adapter is thrown
 * from here as `LoraEdgeError(status, code, message, { param })` with one of these stable codes.
 *
 * | status | code                          | when                                                                  | param                      |
 * | ------ | ----------------------------- | --------------------------------------------------------------------- | -------------------------- |
 * | 400    | `invalid_safetensors`         | the weights file is not valid safetensors (safetensors.ts)            | `safetensors`              |
 * | 400    | `invalid_adapter_config`      | config not JSON, a required field missing or malformed, bad regex     | `adapter_config.json`      |
 * | 400    | `unsupported_peft_type`       | `peft_type` is not "LORA"                                             | `adapter_config.json`      |
 * | 400    | `unsupported_bias`            | `bias` ≠ "none", `lora_bias`, or bias tensors in the file             | config or safetensors      |
 * | 400    | `unsupported_modules_to_save` | `modules_to_save` set (or its tensors in the file)                    | config or safetensors      |
 * | 400    | `unsupported_config`          | options that change the base or the forward (`layer_replication`, aLoRA, QALoRA, PiSSA/OLoRA/LoftQ init, …) | `adapter_config.json` |
 * | 400    | `unsupported_target`          | embedding / lm_head / non-linear module, or a projection the graph lacks | config or safetensors   |
 * | 400    | `unknown_module`              | a target or key names a module the base model does not have           | config or safetensors      |
 * | 400    | `missing_lora_weight`         | a targeted module lacks `lora_A`, `lora_B` or (DoRA) its magnitude     | `adapter_model.safetensors` |
 * | 400    | `unexpected_key`              | a key matches no targeted module or is not a LoRA tensor              | `adapter_model.safetensors` |
 * | 400    | `unsupported_dtype`           | a tensor is not F32/F16/BF16                                          | `adapter_model.safetensors` |
 * | 400    | `shape_mismatch`              | a tensor's shape differs from what the base and the config imply     | `adapter_model.safetensors` |
 * | 400    | `rank_too_large`              | a module's rank, or a group's summed rank, exceeds max_rank           | `adapter_config.json` / `adapters` |
 * | 400    | `non_finite_weight`           | a NaN or ±Inf in a tensor, or in lora_B × scaling (prepare.ts)       | `adapter_model.safetensors` |
 * | 400    | `dora_unsupported`            | DoRA without base weights to compute its scale                        | `adapter_config.json`      |
 * | 400    | `dora_composition_unsupported`| a DoRA adapter composed with others or with weight ≠ 1 (compose.ts)   | `adapters`                 |
 * | 400    | `invalid_adapter_weight`      | a composition weight not finite, beyond ±MAX_ADAPTER_WEIGHT, or overflowing the factors (compose.ts) | `adapters` |
 * | 500    | `invalid_base_weight`         | the runtime's dequantized base weight has the wrong size (prepare.ts) | —                          |
 * | 409    | `adapter_base_mismatch`       | a prepared adapter was made for another architecture                  | `adapters`                 |
 * | 500    | `invalid_prepared_adapter`    | a stored prepared adapter is corrupt (prepare.ts)                     | `prepared`                 |
 */
import { LoraEdgeError } from "../errors.ts";
import { LORA_GROUPS, PROJECTIONS, type Architecture, type Projection } from "../runtime/manifest.ts";
import { baseModules } from "./modules.ts";
import { isTargeted, moduleScaling, selectsModule, type PeftConfig } from "./peft-config.ts";

export const CONFIG_PARAM = "adapter_config.json";
export const WEIGHTS_PARAM = "adapter_model.safetensors";

/**
 * The 400 error every adapter refusal is.
 *
 * @example throw refusal("unexpected_key", "lm_head.weight matches no targeted module", WEIGHTS_PARAM)
 */
export function refusal(code: string, message: string, param: string = CONFIG_PARAM): LoraEdgeError {
  return new LoraEdgeError(400, code, message, { param });
}

/**
 * PEFT options that change the forward pass or the base model (PEFT 0.13–0.21); any of them set
 * means the adapter is not `W + s·B·A` (or DoRA) on the unchanged base.
 */
const FORWARD_CHANGING_FIELDS = [
  "layer_replication", // duplicates base layers
  "trainable_token_indices", // trains embedding rows
  "target_parameters", // LoRA on raw parameters (MoE experts)
  "alora_invocation_tokens", // activated LoRA: applies only after the invocation tokens
  "use_qalora", // pools the input before A
  "use_bdlora", // block-diagonal LoRA variant
  "arrow_config", // routes among several adapters per token
] as const;

/**
 * Refuse config features lora-edge cannot serve (checked before the weights are read).
 *
 * @example assertServableConfig(parsePeftConfig({ peft_type: "LORA", r: 8, lora_alpha: 8, target_modules: ["q_proj"], bias: "all" })) // throws unsupported_bias
 */
export function assertServableConfig(config: PeftConfig): void {
  if (config.peft_type !== "LORA") throw refusal("unsupported_peft_type", `peft_type is ${JSON.stringify(config.peft_type)}; lora-edge serves only "LORA" adapters`);
  if (config.bias !== "none") throw refusal("unsupported_bias", `bias is ${JSON.stringify(config.bias)}; lora-edge serves only bias "none" (trained biases would change the base model's weights)`);
  if (config.lora_bias) throw refusal("unsupported_bias", "lora_bias is true; lora-edge serves LoRA B without a bias");
  if (config.modules_to_save != null && config.modules_to_save.length > 0) {
    throw refusal("unsupported_modules_to_save", `modules_to_save is ${JSON.stringify(config.modules_to_save)}; lora-edge serves only low-rank deltas, not fully trained modules`);
  }
  for (const field of FORWARD_CHANGING_FIELDS) {
    const v = (config as Record<string, unknown>)[field];
    const set = v != null && v !== false && !(Array.isArray(v) && v.length === 0) && !(typeof v === "object" && Object.keys(v).length === 0);
    if (set) throw refusal("unsupported_config", `${field} is set (${JSON.stringify(v)}); lora-edge serves plain LoRA/DoRA deltas and cannot serve adapters that use it`);
  }
  const init = config["init_lora_weights"];
  if (typeof init === "string" && /^(pissa|olora|corda|loftq|lora_ga)/.test(init)) {
    throw refusal("unsupported_config", `init_lora_weights is ${JSON.stringify(init)}: this initialization rewrites the base weights, so the adapter only fits that modified base (save it with PEFT's path_initial_model_for_weight_conversion to get a plain LoRA)`);
  }
  const layersSet = config.layers_to_transform != null && !(Array.isArray(config.layers_to_transform) && config.layers_to_transform.length === 0);
  if (typeof config.target_modules === "string" && (layersSet || (config.layers_pattern != null && config.layers_pattern.length > 0))) {
    throw refusal("invalid_adapter_config", "layers_to_transform and layers_pattern cannot be used when target_modules is a regex string (PEFT refuses this too)");
  }
}

/** A base projection an adapter targets, with its rank and scaling from the config. */
export type TargetModule = { name: string; layer: number; projection: Projection; rank: number; alpha: number; scaling: number };

/**
 * The base projections a config targets, by module name, following PEFT's matching rules; refuses
 * targets that are embeddings, lm_head, non-linear modules, projections the graph has no LoRA
 * input for, or names no module of the base has.
 *
 * @example resolveTargets({ ...config, target_modules: ["q_proj"] }, arch, PROJECTIONS).get("model.layers.0.self_attn.q_proj")?.rank // 8
 */
export function resolveTargets(config: PeftConfig, arch: Architecture, graphTargets: readonly Projection[] = PROJECTIONS): Map<string, TargetModule> {
  const modules = baseModules(arch);
  const allLinear = config.target_modules === "all-linear";
  // Every list entry must name something the base has (PEFT would silently ignore a typo'd entry).
  if (Array.isArray(config.target_modules)) {
    for (const entry of config.target_modules) {
      if (!modules.some((m) => selectsModule([entry], m.name, "target_modules"))) {
        throw refusal("unknown_module", `target_modules entry ${JSON.stringify(entry)} names no module of the base model (a ${arch.num_hidden_layers}-layer ${arch.model_type}; targetable: ${PROJECTIONS.join(", ")})`);
      }
    }
  }
  const out = new Map<string, TargetModule>();
  for (const m of modules) {
    if ((allLinear && m.kind !== "projection") || !isTargeted(config, m.name)) continue;
    if (m.kind === "embedding" || m.kind === "lm_head") {
      throw refusal("unsupported_target", `target_modules selects ${m.name} (${m.kind === "embedding" ? "the token embedding" : "the output layer"}); lora-edge adapts only the attention and MLP projections`);
    }
    if (m.kind !== "projection") throw refusal("unsupported_target", `target_modules selects ${m.name}, which is not a linear projection lora-edge can adapt (${PROJECTIONS.join(", ")})`);
    if (!graphTargets.includes(m.projection)) {
      throw refusal("unsupported_target", `target_modules selects ${m.name}, but the base model's graph has LoRA inputs only for ${graphTargets.join(", ")}`);
    }
    out.set(m.name, { name: m.name, layer: m.layer, projection: m.projection, ...moduleScaling(config, m.name) });
  }
  if (out.size === 0) {
    const layers = config.layers_to_transform != null ? ` with layers_to_transform ${JSON.stringify(config.layers_to_transform)}` : "";
    throw refusal("unknown_module", `target_modules ${JSON.stringify(config.target_modules)}${layers} selects no module of the base model (${arch.num_hidden_layers} layers)`);
  }
  return out;
}

/**
 * Refuse ranks the graph will not be fed: a module above `maxRank`, or a layer's group (whose
 * projections are concatenated along the rank) summing above it.
 *
 * @example assertRanks(targets, 64) // throws rank_too_large when q+k+v ranks of one layer exceed 64
 */
export function assertRanks(targets: Map<string, TargetModule>, maxRank: number | undefined): void {
  if (maxRank === undefined) return;
  const groupRank = new Map<string, { total: number; parts: string[] }>();
  for (const t of targets.values()) {
    if (t.rank > maxRank) throw refusal("rank_too_large", `${t.name} has rank ${t.rank}, above the base model's max_rank ${maxRank}`);
    const group = LORA_GROUPS.find((g) => (g.projections as readonly Projection[]).includes(t.projection))!.name;
    const key = `layer ${t.layer} group ${group}`;
    const g = groupRank.get(key) ?? { total: 0, parts: [] };
    g.total += t.rank;
    g.parts.push(`${t.projection} ${t.rank}`);
    groupRank.set(key, g);
  }
  for (const [key, g] of groupRank) {
    if (g.total > maxRank) throw refusal("rank_too_large", `${key} needs rank ${g.total} (${g.parts.join(" + ")}), above the base model's max_rank ${maxRank}`);
  }
}

/**
 * Refuse a tensor whose shape is not the expected one.
 *
 * @example assertShape("…q_proj.lora_A.weight", [8, 64], [8, 32]) // throws shape_mismatch: expected [8, 64], got [8, 32]
 */
export function assertShape(key: string, expected: readonly number[], got: readonly number[], why = ""): void {
  if (expected.length === got.length && expected.every((d, i) => d === got[i])) return;
  throw refusal("shape_mismatch", `${key}: expected shape [${expected.join(", ")}], got [${got.join(", ")}]${why ? ` (${why})` : ""}`, WEIGHTS_PARAM);
}

/**
 * Refuse NaN or ±Inf values, naming the key and the first bad index.
 *
 * @example assertFinite("…lora_B.weight", new Float32Array([1, NaN])) // throws non_finite_weight
 */
export function assertFinite(key: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw refusal("non_finite_weight", `${key} contains ${data[i]} at index ${i}`, WEIGHTS_PARAM);
  }
}
