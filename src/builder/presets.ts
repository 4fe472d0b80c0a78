/**
 * Named architectures for random models: `demo` is the embedded default model (README "Embedded
 * model" says why these dims), `tiny` is for quick experiments.
 */
import type { Architecture } from "../runtime/manifest.ts";

export const PRESETS: Record<string, Omit<Architecture, "family" | "model_type">> = {
  demo: {
    vocab_size: 2048, hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 2, num_attention_heads: 12,
    num_key_value_heads: 4, head_dim: 64, max_position_embeddings: 1024, rope_theta: 100_000, rms_norm_eps: 1e-5,
    tie_word_embeddings: false, attention_bias: false,
  },
  tiny: {
    vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 256, rope_theta: 50_000, rms_norm_eps: 1e-5,
    tie_word_embeddings: false, attention_bias: false,
  },
};
