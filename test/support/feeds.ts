/** Random prepared LoRA feeds (contract 2) for tests and benchmarks. */
import { LORA_GROUPS, groupLayout, type Architecture } from "../../src/runtime/manifest.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { seededNormal } from "../../src/runtime/random.ts";

/** A random rank-`r` adapter on all seven projections, as prepared feeds (q|k|v and gate|up block-diagonal). */
export function randomFeeds(arch: Architecture, r: number, seed = 5): LoraFeeds {
  const normal = seededNormal(seed);
  const layers: LoraFeeds["layers"] = [];
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    const layer: LoraFeeds["layers"][number] = {};
    for (const g of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(arch, g.name);
      const rank = r * g.projections.length;
      layer[g.name] = { rank, A: Float32Array.from({ length: K * rank }, () => 0.02 * normal()), B: Float32Array.from({ length: rank * N }, () => 0.02 * normal()) };
    }
    layers.push(layer);
  }
  return { layers, dora: false };
}

