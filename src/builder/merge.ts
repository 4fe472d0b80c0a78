/**
 * Merge mode: fold one adapter, or a weighted set, into the base weights, for a dedicated
 * single-domain deployment (one package, no LoRA inputs needed at run time).
 *
 * W ← W + Σ wᵢ·(Aᵢ·s·Bᵢ)ᵀ per projection; a DoRA adapter (alone, weight 1) then scales each
 * output row by m/‖W + ΔW‖, exactly the rows the graph's DoRA scale multiplies.
 */
import type { HfWeights } from "./llama-graph.ts";
import { hfLinearName } from "./llama-graph.ts";
import { projectionFactors, type PreparedAdapter } from "../adapters/prepare.ts";
import { PROJECTIONS, projectionShape, type Architecture } from "../runtime/manifest.ts";

/** @example const merged = mergeAdapters(arch, weights, [{ adapter: support, weight: 1 }]); */
export function mergeAdapters(arch: Architecture, weights: HfWeights, adapters: readonly { adapter: PreparedAdapter; weight: number }[]): HfWeights {
  if (adapters.some((a) => a.adapter.dora) && (adapters.length > 1 || adapters[0]!.weight !== 1)) {
    throw new Error("a DoRA adapter merges alone at weight 1");
  }
  const out: HfWeights = new Map(weights);
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const p of PROJECTIONS) {
      const { in: n, out: o } = projectionShape(arch, p);
      const name = hfLinearName(l, p);
      let Wd: Float64Array | undefined; // [out, in], accumulated in float64
      for (const { adapter, weight } of adapters) {
        const f = projectionFactors(adapter, arch, l, p);
        if (!f) continue;
        Wd ??= Float64Array.from(out.get(name)!);
        // ΔW[o, i] = w · Σ_j At[i, j] · sBt[j, o]   (At [in, r], sBt [r, out])
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < f.rank; j++) {
            const a = weight * f.At[i * f.rank + j]!;
            if (a === 0) continue;
            for (let c = 0; c < o; c++) Wd[c * n + i]! += a * f.sBt[j * o + c]!;
          }
        }
        if (f.scale) for (let c = 0; c < o; c++) for (let i = 0; i < n; i++) Wd[c * n + i]! *= f.scale[c]!;
      }
      if (Wd) out.set(name, Float32Array.from(Wd));
    }
  }
  return out;
}
