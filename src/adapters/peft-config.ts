/**
 * PEFT's `adapter_config.json` for LoRA (`peft/tuners/lora/config.py`, `LoraConfig`) as one schema,
 * plus PEFT's rules for reading it: which modules a config targets (`check_target_module_exists`),
 * which `rank_pattern`/`alpha_pattern` key applies to a module (`get_pattern_key`), and the scaling.
 * Every pattern a config holds is a regular expression from an uploader: it runs on re2js (RE2's
 * algorithm in plain JavaScript: time linear in the input, no backtracking, no native code, so it
 * runs in workerd), never on the backtracking `RegExp`.
 */
import { RE2JS } from "re2js";
import { z } from "zod";
import { LoraEdgeError } from "../errors.ts";

const stringOrList = z.union([z.string(), z.array(z.string())]);

/**
 * `adapter_config.json` as `PeftModel.save_pretrained` writes it. Required: `peft_type`, `r`,
 * `lora_alpha`, `target_modules`; the rest default as in PEFT. Unknown keys are kept (PEFT adds
 * fields over time); fields lora-edge cannot serve are parsed here and refused in validate.ts.
 *
 * @example peftConfigSchema.parse({ peft_type: "LORA", r: 16, lora_alpha: 32, target_modules: ["q_proj", "v_proj"] })
 */
export const peftConfigSchema = z.looseObject({
  /** Must be "LORA" (PEFT also writes "LOHA", "IA3", …, which lora-edge does not serve). */
  peft_type: z.string(),
  /** Default rank of every targeted module. */
  r: z.number().int().positive(),
  /** Scaling numerator: scaling = lora_alpha / r (or / √r with use_rslora). */
  lora_alpha: z.number().refine(Number.isFinite, "must be finite"),
  /**
   * A list matches a module whose full name equals an entry or ends with "." + entry; a string is a
   * Python regex that must `re.fullmatch` the full module name; "all-linear" means every linear
   * layer but the output layer.
   */
  target_modules: stringOrList,
  /** Modules never adapted (same matching as target_modules). */
  exclude_modules: stringOrList.nullish(),
  /** rsLoRA: scaling = lora_alpha / √r. */
  use_rslora: z.boolean().default(false),
  /** DoRA: the file carries `lora_magnitude_vector` per module. */
  use_dora: z.boolean().default(false),
  /** Per-module rank overrides, keys matched as regex `(.*\.)?{key}$` on the module name, first match wins. */
  rank_pattern: z.record(z.string(), z.number().int().positive()).nullish().transform((v) => v ?? {}),
  /** Per-module alpha overrides, matched like rank_pattern. */
  alpha_pattern: z.record(z.string(), z.number().refine(Number.isFinite, "must be finite")).nullish().transform((v) => v ?? {}),
  /** Only these layer indices are adapted (list target_modules only). */
  layers_to_transform: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullish(),
  /** Name of the module list holding the layers ("layers" for Llama), used with layers_to_transform. */
  layers_pattern: stringOrList.nullish(),
  /** The base layer stores its weight as [in, out] (GPT-2 Conv1D). PEFT resets it to false for nn.Linear. */
  fan_in_fan_out: z.boolean().default(false),
  /** "none" | "all" | "lora_only": which biases are trained; lora-edge serves only "none". */
  bias: z.string().default("none"),
  /** LoRA B carries a bias (PEFT ≥ 0.14); not served. */
  lora_bias: z.boolean().default(false),
  /** Fully trained extra modules (e.g. a classifier head); not served. */
  modules_to_save: z.array(z.string()).nullish(),
  /** Training only. */
  lora_dropout: z.number().default(0),
  task_type: z.string().nullish(),
  base_model_name_or_path: z.string().nullish(),
  revision: z.string().nullish(),
  inference_mode: z.boolean().optional(),
  /** Layers duplicated to grow the base (changes the base); not served. */
  layer_replication: z.unknown().optional(),
  /** Trained rows of the embedding matrix; not served. */
  trainable_token_indices: z.unknown().optional(),
  /** LoRA on raw parameters instead of modules (PEFT ≥ 0.17); not served. */
  target_parameters: z.unknown().optional(),
});
export type PeftConfig = z.infer<typeof peftConfigSchema>;

/**
 * Parse `adapter_config.json` (bytes, text or an already-parsed value). Every regular expression it
 * holds is compiled here, so a bad one is refused at the edge.
 * Throws `LoraEdgeError(400, "invalid_adapter_config")` naming the missing or malformed field.
 *
 * @example parsePeftConfig(await r2.get("adapter_config.json").text()).r // 16
 */
export function parsePeftConfig(input: Uint8Array | string | unknown): PeftConfig {
  let json: unknown = input;
  if (input instanceof Uint8Array || typeof input === "string") {
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new LoraEdgeError(400, "invalid_adapter_config", `adapter_config.json is not valid JSON: ${(e as Error).message}`, { param: "adapter_config.json" });
    }
  }
  const parsed = peftConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
    throw new LoraEdgeError(400, "invalid_adapter_config", `adapter_config.json: ${issues}`, { param: "adapter_config.json" });
  }
  const c = parsed.data;
  if (typeof c.target_modules === "string" && c.target_modules !== "all-linear") pythonPattern(c.target_modules, "full", "target_modules");
  if (typeof c.exclude_modules === "string") pythonPattern(c.exclude_modules, "full", "exclude_modules");
  for (const p of c.layers_pattern == null ? [] : typeof c.layers_pattern === "string" ? [c.layers_pattern] : c.layers_pattern) pythonPattern(p, "layer", "layers_pattern");
  for (const key of Object.keys(c.rank_pattern)) pythonPattern(key, "suffix", "rank_pattern");
  for (const key of Object.keys(c.alpha_pattern)) pythonPattern(key, "suffix", "alpha_pattern");
  return c;
}

/** The config fields that hold regular expressions. */
export type PatternField = "target_modules" | "exclude_modules" | "layers_pattern" | "rank_pattern" | "alpha_pattern";

/**
 * How PEFT applies a pattern to a module name: `full` is `re.fullmatch(p, name)` (target_modules and
 * exclude_modules strings), `suffix` is get_pattern_key's `re.match(rf"(.*\.)?({p})$", name)`
 * (rank_pattern / alpha_pattern keys), `layer` is `re.match(rf"(?:^|.*?\.){p}\.(?P<idx>\d+)\.", name)`
 * (layers_pattern; the match's `idx` is the layer index).
 */
export type PatternAnchor = "full" | "suffix" | "layer";

/** A compiled config pattern: `match(name)` is PEFT's match, `layer(name)` the layer index it reads (anchor "layer"). */
export type PythonPattern = { test(name: string): boolean; layer(name: string): number | null };

const compiled = new Map<string, PythonPattern>();
const MAX_COMPILED = 512;

/**
 * A Python `re` pattern from a config, compiled for re2js with PEFT's anchoring. Python's group
 * syntax `(?P<name>…)` is RE2's too; `\Z` becomes RE2's `\z`. What RE2 cannot run in linear time
 * (backreferences, lookaround) and what is not a regex at all are refused with a 400 naming `field`.
 *
 * @example pythonPattern(".*\\.(q|v)_proj", "full", "target_modules").test("model.layers.0.self_attn.q_proj") // true
 */
export function pythonPattern(pattern: string, anchor: PatternAnchor, field: PatternField): PythonPattern {
  const cacheKey = `${anchor}\u0000${pattern}`;
  const hit = compiled.get(cacheKey);
  if (hit) return hit;
  const re2 = pattern.replace(/\\Z/g, "\\z");
  const source = anchor === "full" ? `(?:${re2})` : anchor === "suffix" ? `(.*\\.)?(${re2})` : `(?:^|.*?\\.)${re2}\\.(?P<idx>\\d+)\\.`;
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    throw new LoraEdgeError(400, "invalid_adapter_config", `adapter_config.json: ${field} ${JSON.stringify(pattern)} is not a regular expression lora-edge can run (RE2 syntax, no backreferences or lookaround): ${(e as Error).message}`, { param: `adapter_config.json.${field}` });
  }
  const out: PythonPattern =
    anchor === "layer"
      ? {
          test: (name) => re.matcher(name).lookingAt(),
          layer: (name) => {
            const m = re.matcher(name);
            return m.lookingAt() ? Number(m.group("idx")) : null;
          },
        }
      : { test: (name) => re.matches(name), layer: () => null };
  if (compiled.size >= MAX_COMPILED) compiled.clear(); // patterns come from uploads: keep the memo bounded
  compiled.set(cacheKey, out);
  return out;
}

/** PEFT's list rule: the entry is the full name or a dotted suffix of it. */
function matchesListEntry(name: string, entry: string): boolean {
  return name === entry || name.endsWith(`.${entry}`);
}

/**
 * Does a `target_modules`/`exclude_modules` value select this module name (ignoring layer filters)?
 *
 * @example selectsModule(["q_proj"], "model.layers.0.self_attn.q_proj", "target_modules") // true
 */
export function selectsModule(spec: string | readonly string[], name: string, field: "target_modules" | "exclude_modules"): boolean {
  if (typeof spec === "string") return pythonPattern(spec, "full", field).test(name);
  return spec.some((entry) => matchesListEntry(name, entry));
}

/** Layer index PEFT reads from a module name for `layers_to_transform` (the first numbered segment), or null. */
function layerIndexOf(name: string, layersPattern: PeftConfig["layers_pattern"]): number | null {
  const patterns = layersPattern == null || layersPattern.length === 0 ? null : typeof layersPattern === "string" ? [layersPattern] : layersPattern;
  if (!patterns) {
    const m = /^[^]*?\.[^.]*\.(\d+)\./.exec(name); // fixed pattern: lazy, linear on module names
    return m ? Number(m[1]) : null;
  }
  for (const p of patterns) {
    const idx = pythonPattern(p, "layer", "layers_pattern").layer(name);
    if (idx !== null) return idx;
  }
  return null;
}

/**
 * PEFT's `check_target_module_exists`: exclusions first, then target_modules, then (list targets
 * only) `layers_to_transform` / `layers_pattern`.
 *
 * @example isTargeted({ ...config, target_modules: ["q_proj"], layers_to_transform: [1] }, "model.layers.1.self_attn.q_proj") // true
 */
export function isTargeted(config: PeftConfig, name: string): boolean {
  if (config.exclude_modules != null && config.exclude_modules.length > 0 && selectsModule(config.exclude_modules, name, "exclude_modules")) return false;
  if (config.target_modules === "all-linear") return true; // caller restricts to linear layers, lm_head excluded
  if (typeof config.target_modules === "string") return selectsModule(config.target_modules, name, "target_modules");
  if (config.target_modules.includes(name)) return true; // PEFT: a module named in full skips the layer filters
  if (!selectsModule(config.target_modules, name, "target_modules")) return false;
  const layers = config.layers_to_transform;
  if (layers == null || (Array.isArray(layers) && layers.length === 0)) return true;
  const idx = layerIndexOf(name, config.layers_pattern);
  if (idx === null) return false;
  return typeof layers === "number" ? idx === layers : layers.includes(idx);
}

/**
 * PEFT's `get_pattern_key`: the first key, in the config's order, that matches the module name as
 * a regex (`(.*\.)?(key)$`) — not the most specific one: an exact name listed after a broader key
 * that also matches loses to it, as in PEFT.
 *
 * @example patternKey({ "q_proj": 4, "layers.0.self_attn.q_proj": 2 }, "model.layers.0.self_attn.q_proj", "rank_pattern") // "q_proj"
 */
export function patternKey(pattern: Record<string, number>, name: string, field: "rank_pattern" | "alpha_pattern"): string | undefined {
  return Object.keys(pattern).find((key) => pythonPattern(key, "suffix", field).test(name));
}

/**
 * Rank, alpha and scaling PEFT uses for one module, after `rank_pattern` and `alpha_pattern`.
 *
 * @example moduleScaling({ ...config, r: 8, lora_alpha: 16, rank_pattern: { v_proj: 4 } }, "model.layers.0.self_attn.v_proj") // { rank: 4, alpha: 16, scaling: 4 }
 */
export function moduleScaling(config: PeftConfig, name: string): { rank: number; alpha: number; scaling: number } {
  const rk = patternKey(config.rank_pattern, name, "rank_pattern");
  const ak = patternKey(config.alpha_pattern, name, "alpha_pattern");
  const rank = rk === undefined ? config.r : config.rank_pattern[rk]!;
  const alpha = ak === undefined ? config.lora_alpha : config.alpha_pattern[ak]!;
  return { rank, alpha, scaling: config.use_rslora ? alpha / Math.sqrt(rank) : alpha / rank };
}
