/**
 * The adapters PEFT itself wrote (test/fixtures/golden/<model>/adapters/<name>, by
 * training/make_golden.py) load, prepare and reproduce PEFT's logits: the prepared feeds are merged
 * back into the base weights (W'_p = scale ⊙ (W_p + (A·B)[:, columns_p]ᵀ)) and run through the
 * float64 reference forward, which must match golden.safetensors within the fixtures' tolerance.
 * This pins our reading of PEFT (key names, regex targets, rank/alpha patterns, layers_to_transform,
 * rsLoRA, DoRA, F16/BF16 files) to PEFT's behaviour, independently of the ONNX graph.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LoraFeeds } from "../runtime/lora-feeds.ts";
import { groupLayout, LORA_GROUPS, type Architecture, type Projection } from "../runtime/manifest.ts";
import { projectionPath, readHfCheckpoint, readSafetensors } from "../../test/reference/hf-checkpoint.ts";
import { forwardLogits, relL2, type HfConfig, type HfWeights } from "../../test/reference/llama64.ts";
import { composeAdapters } from "./compose.ts";
import { loadPeftAdapter } from "./load-peft.ts";
import { transpose } from "./matrix.ts";
import { prepareAdapter } from "./prepare.ts";

const GOLDEN = join(import.meta.dirname, "../../test/fixtures/golden");
const models = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((m) => existsSync(join(GOLDEN, m, "golden.json"))) : [];

type Golden = { sequences: number[][]; variants: Record<string, { adapter: string | null; logits: string[] }> };

/** W'_p for every projection a feed touches: rows scaled by the DoRA scale when present. */
function mergeFeeds(arch: Architecture, weights: HfWeights, feeds: LoraFeeds): HfWeights {
  const merged: HfWeights = new Map(weights);
  feeds.layers.forEach((layer, l) => {
    for (const g of LORA_GROUPS) {
      const feed = layer[g.name];
      if (!feed) continue;
      const { in: n, out, columns } = groupLayout(arch, g.name);
      for (const p of g.projections as readonly Projection[]) {
        const [c0, c1] = columns[p]!;
        const name = `${projectionPath(l, p)}.weight`;
        const W = weights.get(name)!.data; // [out_p, in]
        const data = new Float64Array(W.length);
        for (let o = 0; o < c1 - c0; o++) {
          const c = c0 + o;
          for (let i = 0; i < n; i++) {
            let d = 0;
            for (let j = 0; j < feed.rank; j++) d += feed.A[i * feed.rank + j]! * feed.B[j * out + c]!;
            data[o * n + i] = (W[o * n + i]! + d) * (feed.scale ? feed.scale[c]! : 1);
          }
        }
        merged.set(name, { dims: [c1 - c0, n], data });
      }
    }
  });
  return merged;
}

describe.skipIf(models.length === 0)("PEFT-written golden adapters", () => {
  for (const model of models) {
    const dir = join(GOLDEN, model);
    const golden = JSON.parse(readFileSync(join(dir, "golden.json"), "utf8")) as Golden;
    const logits = () => readSafetensors(readFileSync(join(dir, "golden.safetensors"))).tensors;
    const checkpoint = () => {
      const { config, weights } = readHfCheckpoint(join(dir, "model"));
      const raw = JSON.parse(readFileSync(join(dir, "model", "config.json"), "utf8")) as { rope_parameters?: { rope_theta: number }; rope_theta?: number };
      const hf: HfConfig = { ...config, rope_theta: raw.rope_theta ?? raw.rope_parameters!.rope_theta };
      const arch: Architecture = {
        family: "llama", model_type: model, vocab_size: hf.vocab_size, hidden_size: hf.hidden_size, intermediate_size: hf.intermediate_size,
        num_hidden_layers: hf.num_hidden_layers, num_attention_heads: hf.num_attention_heads, num_key_value_heads: hf.num_key_value_heads,
        head_dim: hf.head_dim ?? hf.hidden_size / hf.num_attention_heads, max_position_embeddings: hf.max_position_embeddings,
        rope_theta: hf.rope_theta, rms_norm_eps: hf.rms_norm_eps, tie_word_embeddings: hf.tie_word_embeddings, attention_bias: hf.attention_bias ?? false,
      };
      return { hf, arch, weights };
    };

    for (const [variant, v] of Object.entries(golden.variants)) {
      it(`${model}/${variant}: loads${v.adapter ? ", prepares" : ""} and matches PEFT's logits (rel L2 < 1e-4)`, () => {
        const { hf, arch, weights } = checkpoint();
        let merged = weights;
        if (v.adapter) {
          const files = { config: readFileSync(join(dir, v.adapter, "adapter_config.json")), weights: readFileSync(join(dir, v.adapter, "adapter_model.safetensors")) };
          const peft = loadPeftAdapter(files, arch, { maxRank: 64 });
          const baseWeight = (l: number, p: Projection) => {
            const W = weights.get(`${projectionPath(l, p)}.weight`)!;
            return transpose(Float32Array.from(W.data), W.dims[0]!, W.dims[1]!); // [out, in] → [in, out]
          };
          const feeds = composeAdapters(arch, [{ adapter: prepareAdapter(peft, arch, { baseWeight }), weight: 1 }]);
          merged = mergeFeeds(arch, weights, feeds);
        }
        const expected = logits();
        golden.sequences.forEach((ids, s) => {
          const err = relL2(forwardLogits(hf, merged, ids), expected.get(v.logits[s]!)!.data);
          expect(err, `sequence ${s}`).toBeLessThan(1e-4);
        });
      });
    }
  }
});
