/**
 * Test models: reference-generated random weights (test/reference, independent of the builder's
 * own random init) turned into in-memory model packages and engines, and the served (dequantized)
 * weights read back for the float64 oracle.
 */
import { assembleModelPackage, type BuildPackageOptions } from "../../src/builder/package.ts";
import { buildTokenizer } from "../../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../../src/builder/corpus.ts";
import { createEngine } from "./backend.ts";
import { loadModelPackage, type ModelPackage } from "../../src/runtime/model-package.ts";
import { unpackModelPackage } from "../../src/builder/unpack.ts";
import type { Architecture, WeightFormat } from "../../src/runtime/manifest.ts";
import type { HfWeights as BuilderWeights } from "../../src/builder/llama-graph.ts";
import type { HfConfig, HfWeights as RefWeights } from "../reference/llama64.ts";

export function archOf(c: HfConfig): Architecture {
  return {
    family: "llama",
    model_type: c.attention_bias ? "qwen2" : "llama",
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    head_dim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    max_position_embeddings: c.max_position_embeddings,
    rope_theta: c.rope_theta,
    rms_norm_eps: c.rms_norm_eps,
    tie_word_embeddings: c.tie_word_embeddings,
    attention_bias: c.attention_bias ?? false,
  };
}

export function toBuilderWeights(w: RefWeights): BuilderWeights {
  return new Map([...w].map(([k, t]) => [k, Float32Array.from(t.data)]));
}

const tokenizers = new Map<number, ReturnType<typeof buildTokenizer>>();
/** A byte-level BPE tokenizer of at most `vocab` ids (cached: training takes a moment). */
export function testTokenizer(vocab: number) {
  if (!tokenizers.has(vocab)) tokenizers.set(vocab, buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: vocab }));
  return tokenizers.get(vocab)!;
}

export async function packageOf(config: HfConfig, weights: RefWeights, format: WeightFormat, extra: Partial<BuildPackageOptions> = {}): Promise<ModelPackage> {
  const tok = testTokenizer(Math.min(config.vocab_size, 4096));
  const { files } = assembleModelPackage({
    name: "test",
    arch: archOf(config),
    weights: toBuilderWeights(weights),
    format,
    source: { kind: "random", seed: 0 },
    tokenizerJson: tok.tokenizerJson,
    tokenizerConfig: tok.tokenizerConfig,
    generationConfig: { eos_token_id: tok.specialTokens.eos },
    ...extra,
  });
  return loadModelPackage(async (p) => files[p]!);
}

export async function engineOf(config: HfConfig, weights: RefWeights, format: WeightFormat, extra: Partial<BuildPackageOptions> = {}) {
  return createEngine(await packageOf(config, weights, format, extra));
}

/** The weights the package actually serves, dequantized, in HF layout (the builder's unpacking): the oracle's input for int8/int4. */
export function servedWeights(pkg: ModelPackage, original: RefWeights): RefWeights {
  const { vocab_size: V, hidden_size: d } = pkg.manifest.architecture;
  // lm_head is quantized on its own (also when tied), so the oracle gets it untied
  return new Map([...unpackModelPackage(pkg).weights].map(([name, data]) => [name, { dims: original.get(name)?.dims ?? [V, d], data }]));
}

/** The oracle's config for served weights: quantized packages serve an untied lm_head. */
export function servedConfig(pkg: ModelPackage, config: HfConfig): HfConfig {
  return pkg.manifest.quantization.weights === "fp32" ? config : { ...config, tie_word_embeddings: false };
}
