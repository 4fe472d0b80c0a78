/**
 * Read what `PeftModel.save_pretrained` writes (`adapter_config.json` + `adapter_model.safetensors`)
 * into a typed `PeftAdapter`, validated against the base architecture (validate.ts).
 *
 * Keys (adapter name already stripped by PEFT):
 *   `base_model.model.{module}.lora_A.weight` [r, in] · `….lora_B.weight` [out, r] ·
 *   DoRA `….lora_magnitude_vector` [out] (older PEFT: `….lora_magnitude_vector.weight`)
 * with `{module}` like `model.layers.3.self_attn.q_proj` or `model.layers.3.mlp.down_proj`.
 */
import { projectionShape, type Architecture, type Projection } from "../runtime/manifest.ts";
import { FLOAT_DTYPES, parseSafetensors, toFloat32, type Tensor } from "./safetensors.ts";
import { parsePeftConfig, type PeftConfig } from "./peft-config.ts";
import { transpose } from "./matrix.ts";
import { baseModules } from "./modules.ts";
import { assertFinite, assertRanks, assertServableConfig, assertShape, refusal, resolveTargets, WEIGHTS_PARAM, type TargetModule } from "./validate.ts";

/** One adapted projection in PEFT's layout, as float32. */
export type LoraModule = {
  /** Base module name, e.g. `model.layers.0.self_attn.q_proj`. */
  name: string;
  layer: number;
  projection: Projection;
  rank: number;
  alpha: number;
  /** α/r, or α/√r with rsLoRA, after rank/alpha patterns. */
  scaling: number;
  /** lora_A [r, in] */
  A: Float32Array;
  /** lora_B [out, r] */
  B: Float32Array;
  /** DoRA magnitude m [out] */
  magnitude?: Float32Array;
};

/** A validated PEFT LoRA adapter: `layers[l][projection]`, absent = not adapted. */
export type PeftAdapter = {
  config: PeftConfig;
  numLayers: number;
  dora: boolean;
  layers: Array<Partial<Record<Projection, LoraModule>>>;
};

/** The two files PEFT writes; the config may be bytes, text or already-parsed JSON. */
export type PeftFiles = { config: Uint8Array | string | unknown; weights: Uint8Array };

export type LoadOptions = {
  /** The manifest's `lora.max_rank`: refuse modules or layer groups that need a larger rank. */
  maxRank?: number;
  /** The manifest's `lora.targets`: projections the graph has LoRA inputs for (default: all seven). */
  targets?: readonly Projection[];
};

const PREFIX = "base_model.model.";
type Part = "A" | "B" | "magnitude";
const SUFFIXES: [string, Part][] = [
  [".lora_A.weight", "A"],
  [".lora_B.weight", "B"],
  [".lora_magnitude_vector", "magnitude"],
  [".lora_magnitude_vector.weight", "magnitude"],
];

/**
 * Parse and validate a PEFT LoRA adapter for this base architecture.
 *
 * @example
 * const adapter = loadPeftAdapter({ config: configBytes, weights: safetensorsBytes }, manifest.architecture, { maxRank: manifest.lora.max_rank, targets: manifest.lora.targets });
 * adapter.layers[0].q_proj // { rank: 16, scaling: 2, A: Float32Array(16·in), B: Float32Array(out·16), … }
 */
export function loadPeftAdapter(files: PeftFiles, arch: Architecture, options: LoadOptions = {}): PeftAdapter {
  const config = parsePeftConfig(files.config);
  assertServableConfig(config);
  const targets = resolveTargets(config, arch, options.targets);
  assertRanks(targets, options.maxRank);

  const tensors = parseSafetensors(files.weights);
  const found = collectKeys(tensors, targets, config, arch);

  const layers: PeftAdapter["layers"] = Array.from({ length: arch.num_hidden_layers }, () => ({}));
  for (const t of targets.values()) {
    const parts = found.get(t.name) ?? {};
    for (const part of config.use_dora ? (["A", "B", "magnitude"] as const) : (["A", "B"] as const)) {
      if (!parts[part]) {
        const what = part === "magnitude" ? "lora_magnitude_vector (use_dora is true)" : `lora_${part}.weight`;
        throw refusal("missing_lora_weight", `${t.name} is targeted but ${PREFIX}${t.name}.${what} is missing from the file`, WEIGHTS_PARAM);
      }
    }
    layers[t.layer]![t.projection] = readModule(t, parts as Required<Parts>, config, arch);
  }
  return { config, numLayers: arch.num_hidden_layers, dora: config.use_dora, layers };
}

type Parts = Partial<Record<Part, { key: string; tensor: Tensor }>>;

/** Sort the file's keys onto targeted modules, refusing anything else. */
function collectKeys(tensors: Map<string, Tensor>, targets: Map<string, TargetModule>, config: PeftConfig, arch: Architecture): Map<string, Parts> {
  const modules = new Map(baseModules(arch).map((m) => [m.name, m]));
  const found = new Map<string, Parts>();
  for (const [key, tensor] of tensors) {
    const suffix = SUFFIXES.find(([s]) => key.endsWith(s));
    if (!key.startsWith(PREFIX) || !suffix) {
      if (/\.lora_[AB]\.bias$/.test(key)) throw refusal("unsupported_bias", `${key} is a LoRA bias; lora-edge serves LoRA B without a bias`, WEIGHTS_PARAM);
      if (/lora_embedding_[AB]/.test(key)) throw refusal("unsupported_target", `${key} adapts an embedding; lora-edge adapts only the attention and MLP projections`, WEIGHTS_PARAM);
      if (/modules_to_save|(^|\.)(embed_tokens|lm_head)\./.test(key)) {
        throw refusal("unsupported_modules_to_save", `${key} is a fully trained module (modules_to_save or saved embeddings); lora-edge serves only low-rank deltas`, WEIGHTS_PARAM);
      }
      throw refusal("unexpected_key", `${key} is not a PEFT LoRA tensor (expected ${PREFIX}<module>.lora_A.weight, .lora_B.weight or .lora_magnitude_vector)`, WEIGHTS_PARAM);
    }
    const [s, part] = suffix;
    const name = key.slice(PREFIX.length, key.length - s.length);
    const base = modules.get(name);
    if (!base) throw refusal("unknown_module", `${key} names module ${name}, which the base model (${arch.num_hidden_layers} layers) does not have`, WEIGHTS_PARAM);
    if (base.kind === "embedding" || base.kind === "lm_head" || base.kind === "other") {
      throw refusal("unsupported_target", `${key} adapts ${name}; lora-edge adapts only the attention and MLP projections`, WEIGHTS_PARAM);
    }
    if (!targets.has(name)) {
      throw refusal("unexpected_key", `${key} matches no targeted module (target_modules ${JSON.stringify(config.target_modules)}${config.layers_to_transform != null ? `, layers_to_transform ${JSON.stringify(config.layers_to_transform)}` : ""}${config.exclude_modules != null ? `, exclude_modules ${JSON.stringify(config.exclude_modules)}` : ""})`, WEIGHTS_PARAM);
    }
    if (part === "magnitude" && !config.use_dora) throw refusal("unexpected_key", `${key} is a DoRA magnitude but use_dora is false`, WEIGHTS_PARAM);
    const parts = found.get(name) ?? {};
    if (parts[part]) throw refusal("unexpected_key", `${key} duplicates ${parts[part].key}`, WEIGHTS_PARAM);
    if (!(FLOAT_DTYPES as readonly string[]).includes(tensor.dtype)) {
      throw refusal("unsupported_dtype", `${key} is ${tensor.dtype}; adapter weights must be F32, F16 or BF16`, WEIGHTS_PARAM);
    }
    parts[part] = { key, tensor };
    found.set(name, parts);
  }
  return found;
}

/** Check shapes, decode to float32 in PEFT's layout, refuse non-finite values. */
function readModule(t: TargetModule, parts: Required<Parts>, config: PeftConfig, arch: Architecture): LoraModule {
  const { in: n, out } = projectionShape(arch, t.projection);
  const r = t.rank;
  const rankWhy = `rank ${r} from the config${Object.keys(config.rank_pattern).length ? "'s r/rank_pattern" : "'s r"}`;
  const A = readMatrix(parts.A, [r, n], config.fan_in_fan_out, rankWhy);
  const B = readMatrix(parts.B, [out, r], config.fan_in_fan_out, rankWhy);
  const module: LoraModule = { name: t.name, layer: t.layer, projection: t.projection, rank: r, alpha: t.alpha, scaling: t.scaling, A, B };
  if (config.use_dora) {
    const m = parts.magnitude;
    assertShape(m.key, [out], m.tensor.shape, `output width of ${t.projection}`);
    module.magnitude = toFloat32(m.tensor);
    assertFinite(m.key, module.magnitude);
  }
  return module;
}

/**
 * A [rows, cols] matrix in PEFT's layout. With `fan_in_fan_out` the file may store it transposed
 * ([cols, rows]); PEFT itself resets the flag for nn.Linear bases and saves the normal layout, so
 * both are accepted, the stored shape deciding (the flag's layout wins when rows == cols).
 */
function readMatrix(p: { key: string; tensor: Tensor }, [rows, cols]: [number, number], fanInFanOut: boolean, why: string): Float32Array {
  const s = p.tensor.shape;
  const transposed = fanInFanOut && s.length === 2 && s[0] === cols && s[1] === rows;
  if (!transposed) assertShape(p.key, [rows, cols], s, why);
  const data = toFloat32(p.tensor);
  assertFinite(p.key, data);
  return transposed ? transpose(data, cols, rows) : data;
}
