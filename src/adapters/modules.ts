/**
 * The module names of the base model as PEFT sees them: `LlamaForCausalLM.named_modules()`
 * (`model.layers.3.self_attn.q_proj`, `model.embed_tokens`, `lm_head`, …). Adapter configs and
 * adapter keys name modules this way, so matching them against this list tells which modules an
 * adapter targets and whether the base has them.
 */
import { PROJECTIONS, type Architecture, type Projection } from "../runtime/manifest.ts";

/** What a base module is, for deciding whether lora-edge can adapt it. */
export type BaseModule =
  | { kind: "projection"; name: string; layer: number; projection: Projection }
  | { kind: "embedding" | "lm_head" | "other"; name: string };

/**
 * Module name of a projection, as in the Hugging Face checkpoint.
 *
 * @example projectionModule(3, "up_proj") // "model.layers.3.mlp.up_proj"
 */
export function projectionModule(layer: number, projection: Projection): string {
  const block = projection === "gate_proj" || projection === "up_proj" || projection === "down_proj" ? "mlp" : "self_attn";
  return `model.layers.${layer}.${block}.${projection}`;
}

/**
 * Every named module of a Llama-family causal LM with this architecture, in `named_modules()` order.
 *
 * @example baseModules(arch).find((m) => m.name === "model.layers.0.mlp.down_proj") // { kind: "projection", layer: 0, projection: "down_proj", … }
 */
export function baseModules(arch: Architecture): BaseModule[] {
  const out: BaseModule[] = [
    { kind: "other", name: "model" },
    { kind: "embedding", name: "model.embed_tokens" },
    { kind: "other", name: "model.layers" },
  ];
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    out.push({ kind: "other", name: `model.layers.${l}` }, { kind: "other", name: `model.layers.${l}.self_attn` });
    for (const p of PROJECTIONS) {
      if (p === "gate_proj") out.push({ kind: "other", name: `model.layers.${l}.mlp` });
      out.push({ kind: "projection", name: projectionModule(l, p), layer: l, projection: p });
    }
    out.push(
      { kind: "other", name: `model.layers.${l}.mlp.act_fn` },
      { kind: "other", name: `model.layers.${l}.input_layernorm` },
      { kind: "other", name: `model.layers.${l}.post_attention_layernorm` },
    );
  }
  out.push({ kind: "other", name: "model.norm" }, { kind: "other", name: "model.rotary_emb" }, { kind: "lm_head", name: "lm_head" });
  return out;
}
