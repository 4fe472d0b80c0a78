/** Random prepared LoRA feeds (contract 2) for tests and benchmarks, and the weights they amount to (the float64 oracle's input). */
import { LORA_GROUPS, groupLayout, type Architecture } from "../../src/runtime/manifest.ts";
import { hfLinearName } from "../../src/builder/llama-graph.ts";
import type { HfWeights } from "../reference/llama64.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { seededNormal } from "../../src/runtime/random.ts";

/**
 * A random rank-`r` adapter on all seven projections, as prepared feeds: each group's A `[in, r·p]`
 * and B `[r·p, out]` dense (p its projections), where a PEFT adapter's fused q|k|v and gate|up B is
 * block-diagonal; the graph computes both alike.
 */
export function randomFeeds(arch: Architecture, r: number, seed = 5, std = 0.02): LoraFeeds {
  const normal = seededNormal(seed);
  const layers: LoraFeeds["layers"] = [];
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    const layer: LoraFeeds["layers"][number] = {};
    for (const g of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(arch, g.name);
      const rank = r * g.projections.length;
      layer[g.name] = { rank, A: Float32Array.from({ length: K * rank }, () => std * normal()), B: Float32Array.from({ length: rank * N }, () => std * normal()) };
    }
    layers.push(layer);
  }
  return { layers, dora: false };
}


/** The benches' mix of concurrent streams: every fourth the base (`undefined`), the others `adapter(i)` (undefined too when it gives none). */
export function streamMix<T>(count: number, adapter: (i: number) => T | undefined): Array<T | undefined> {
  return Array.from({ length: count }, (_, i) => (i % 4 === 3 ? undefined : adapter(i)));
}

/**
 * The HF weights with a feed's delta merged, in float64: group `g`'s `x·A·B` is `ΔW = A·B` `[in, out]`,
 * and projection p's rows of `W[out, in]` gain the columns p occupies (the graph's fused layout).
 */
export function mergeFeeds(arch: Architecture, weights: HfWeights, feeds: LoraFeeds): HfWeights {
  const merged: HfWeights = new Map(weights);
  feeds.layers.forEach((layer, l) => {
    for (const g of LORA_GROUPS) {
      const feed = layer[g.name];
      if (!feed) continue;
      const { in: K, out: N, columns } = groupLayout(arch, g.name);
      for (const p of g.projections) {
        const [c0, c1] = columns[p]!;
        const name = hfLinearName(l, p);
        const W = merged.get(name)!;
        const data = Float64Array.from(W.data);
        for (let o = 0; o < c1 - c0; o++) {
          for (let k = 0; k < K; k++) {
            let d = 0;
            for (let i = 0; i < feed.rank; i++) d += feed.A[k * feed.rank + i]! * feed.B[i * N + c0 + o]!;
            data[o * K + k]! += d;
          }
        }
        merged.set(name, { dims: W.dims, data });
      }
    }
  });
  return merged;
}
