/**
 * A model package's weights read back into Hugging Face names and layouts, dequantized: what the
 * package serves, as float32. Merging adapters starts here.
 */
import type { HfWeights } from "./llama-graph.ts";
import { hfLinearName } from "./llama-graph.ts";
import { readBaseWeight, readLinearWeight, readWeightTensor } from "../runtime/base-weights.ts";
import { PROJECTIONS, projectionShape, type Architecture } from "../runtime/manifest.ts";
import type { ModelPackage } from "../runtime/model-package.ts";

/** `[K, N]` graph layout → `[N, K]` nn.Linear layout. */
function toLinear(kn: Float32Array, K: number, N: number): Float32Array {
  const w = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) w[n * K + k] = kn[k * N + n]!;
  return w;
}

/**
 * @example const { arch, weights } = unpackModelPackage(pkg); // weights.get("model.layers.0.mlp.up_proj.weight")
 */
export function unpackModelPackage(pkg: Pick<ModelPackage, "manifest" | "weights">): { arch: Architecture; weights: HfWeights } {
  const { manifest } = pkg;
  const a = manifest.architecture;
  const format = manifest.quantization.weights;
  const tensor = <T extends Float32Array | Int8Array | Uint8Array>(name: string, Ctor: new (b: ArrayBuffer) => T): T => readWeightTensor(manifest, pkg.weights, name, Ctor);
  const w: HfWeights = new Map();
  const { vocab_size: V, hidden_size: d } = a;
  // the served lm_head, quantized on its own: unpacked as an untied head so nothing is re-derived
  const head = readLinearWeight(manifest, pkg.weights, "lm_head", d, V); // [d, V]
  if (!manifest.weights_index["embed_tokens"] && !manifest.weights_index["embed_tokens.q"]) {
    // tied: the embedding's rows are lm_head's one table read back
    w.set("model.embed_tokens.weight", toLinear(head, d, V));
  } else if (format === "fp32") {
    w.set("model.embed_tokens.weight", tensor("embed_tokens", Float32Array));
  } else {
    const q = tensor("embed_tokens.q", Int8Array);
    const scale = tensor("embed_tokens.scale", Float32Array);
    w.set("model.embed_tokens.weight", Float32Array.from(q, (v, i) => v * scale[Math.floor(i / d)]!));
  }
  for (let l = 0; l < a.num_hidden_layers; l++) {
    w.set(`model.layers.${l}.input_layernorm.weight`, tensor(`layers.${l}.input_layernorm`, Float32Array));
    w.set(`model.layers.${l}.post_attention_layernorm.weight`, tensor(`layers.${l}.post_attention_layernorm`, Float32Array));
    for (const p of PROJECTIONS) {
      const s = projectionShape(a, p);
      w.set(hfLinearName(l, p), toLinear(readBaseWeight(manifest, pkg.weights, l, p), s.in, s.out));
    }
    if (a.attention_bias) {
      const bias = tensor(`layers.${l}.qkv.bias`, Float32Array);
      const q = a.num_attention_heads * a.head_dim;
      const kv = a.num_key_value_heads * a.head_dim;
      w.set(`model.layers.${l}.self_attn.q_proj.bias`, bias.slice(0, q));
      w.set(`model.layers.${l}.self_attn.k_proj.bias`, bias.slice(q, q + kv));
      w.set(`model.layers.${l}.self_attn.v_proj.bias`, bias.slice(q + kv));
    }
  }
  w.set("model.norm.weight", tensor("norm", Float32Array));
  w.set("lm_head.weight", toLinear(head, d, V));
  return { arch: { ...a, tie_word_embeddings: false }, weights: w };
}
