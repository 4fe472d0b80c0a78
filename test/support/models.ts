/**
 * Test models: reference-generated random weights (test/reference, independent of the builder's
 * own random init) turned into in-memory model packages and engines, and the served (dequantized)
 * weights read back for the float64 oracle.
 */
import { assembleModelPackage, type BuildPackageOptions } from "../../src/build/package.ts";
import { buildTokenizer } from "../../src/build/tokenizer.ts";
import { DEFAULT_CORPUS } from "../../src/build/corpus.ts";
import { Engine } from "../../src/runtime/engine.ts";
import { loadModelPackage, type ModelPackage } from "../../src/runtime/model-package.ts";
import { readBaseWeight } from "../../src/runtime/base-weights.ts";
import { dequantizeInt4, dequantizeInt8 } from "../../src/build/quantize.ts";
import { PROJECTIONS, type Architecture, type WeightFormat } from "../../src/runtime/manifest.ts";
import type { HfWeights as BuilderWeights } from "../../src/build/llama-graph.ts";
import type { HfConfig, HfWeights as RefWeights } from "../reference/llama64.ts";
import { projectionPath } from "../reference/hf-checkpoint.ts";

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
  return Engine.create(await packageOf(config, weights, format, extra));
}

/** The weights the package actually serves, dequantized, in HF layout: the oracle's input for int8/int4. */
export function servedWeights(pkg: ModelPackage, original: RefWeights): RefWeights {
  const arch = pkg.manifest.architecture;
  const served: RefWeights = new Map(original);
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const p of PROJECTIONS) {
      const kn = readBaseWeight(pkg.manifest, pkg.weights, l, p); // [in, out]
      const name = `${projectionPath(l, p)}.weight`;
      const [out, n] = original.get(name)!.dims as [number, number];
      const data = new Float32Array(out * n);
      for (let k = 0; k < n; k++) for (let o = 0; o < out; o++) data[o * n + k] = kn[k * out + o]!;
      served.set(name, { dims: [out, n], data });
    }
  }
  if (pkg.manifest.quantization.weights !== "fp32") {
    const { vocab_size: V, hidden_size: d } = arch;
    const idx = pkg.manifest.weights_index;
    const read = (name: string) => pkg.weights.slice(idx[name]!.offset, idx[name]!.offset + idx[name]!.bytes).buffer;
    // embedding rows: int8 with one scale per row
    const q = new Int8Array(read("embed_tokens.q"));
    const scale = new Float32Array(read("embed_tokens.scale"));
    served.set("model.embed_tokens.weight", { dims: [V, d], data: Float32Array.from(q, (v, i) => v * scale[Math.floor(i / d)]!) });
    // lm_head is quantized on its own (also when tied), so the oracle gets it untied
    const head =
      pkg.manifest.quantization.weights === "int8"
        ? dequantizeInt8({ q: new Int8Array(read("lm_head.q")), scale: new Float32Array(read("lm_head.scale")), K: d, N: V })
        : dequantizeInt4({ packed: new Uint8Array(read("lm_head.q4")), scales: new Float32Array(read("lm_head.scales")), zeros: new Uint8Array(read("lm_head.zeros")), K: d, N: V, blockSize: pkg.manifest.quantization.block_size ?? 32 }); // [d, V]
    const data = new Float32Array(V * d);
    for (let k = 0; k < d; k++) for (let v = 0; v < V; v++) data[v * d + k] = head[k * V + v]!;
    served.set("lm_head.weight", { dims: [V, d], data });
  }
  return served;
}

/** The oracle's config for served weights: quantized packages serve an untied lm_head. */
export function servedConfig(pkg: ModelPackage, config: HfConfig): HfConfig {
  return pkg.manifest.quantization.weights === "fp32" ? config : { ...config, tie_word_embeddings: false };
}
