/**
 * Seeded random weights for a Llama-family config, in Hugging Face names and layouts, so a random
 * model goes through exactly the same builder path as a real checkpoint.
 *
 * @example const w = randomLlamaWeights(arch, 42); // w.get("model.layers.0.self_attn.q_proj.weight") → [out*in]
 */
import { PROJECTIONS, projectionShape, type Architecture } from "../runtime/manifest.ts";
import { hfLinearName, type HfWeights } from "./llama-graph.ts";
import { seededNormal } from "../runtime/random.ts";

export function randomLlamaWeights(arch: Architecture, seed: number, std = 0.02): HfWeights {
  const normal = seededNormal(seed);
  const fill = (n: number, mean: number, s: number) => Float32Array.from({ length: n }, () => mean + s * normal());
  const d = arch.hidden_size;
  const w: HfWeights = new Map();
  // embeddings are larger than the projections, like trained models, so logits are not flat
  w.set("model.embed_tokens.weight", fill(arch.vocab_size * d, 0, 1));
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    w.set(`model.layers.${l}.input_layernorm.weight`, fill(d, 1, 0.1));
    w.set(`model.layers.${l}.post_attention_layernorm.weight`, fill(d, 1, 0.1));
    for (const p of PROJECTIONS) {
      const s = projectionShape(arch, p);
      // scale by fan-in so activations keep their size through the layers
      w.set(hfLinearName(l, p), fill(s.out * s.in, 0, Math.max(std, 1 / Math.sqrt(s.in))));
      if (arch.attention_bias && (p === "q_proj" || p === "k_proj" || p === "v_proj")) {
        w.set(`model.layers.${l}.self_attn.${p}.bias`, fill(s.out, 0, 0.1));
      }
    }
  }
  w.set("model.norm.weight", fill(d, 1, 0.1));
  if (!arch.tie_word_embeddings) w.set("lm_head.weight", fill(arch.vocab_size * d, 0, 1 / Math.sqrt(d)));
  return w;
}
