/**
 * Weighted composition of prepared adapters into one request's LoRA feeds, exactly: per layer and
 * group the adapters' side paths are concatenated along the rank,
 *
 *   A = [A₁ | A₂ | …]  [in, ΣRᵢ]        B = [w₁·B₁ ; w₂·B₂ ; …]  [ΣRᵢ, out]
 *
 * so (x·A)·B = Σ wᵢ·(x·Aᵢ)·Bᵢ = x·Σ wᵢ·sᵢ·ΔWᵢ (PEFT's "cat" combination, per request). Adapters with
 * different ranks and target sets compose: a group only some adapters touch gets only their blocks.
 *
 * DoRA: a DoRA adapter is served alone at weight 1 only. Its scale m/‖W + ΔW‖ renormalizes the whole
 * output of a projection, so there is no exact meaning for "w·DoRA + other adapters" without
 * recomputing norms from the base weights for that mix; such requests are refused
 * (`dora_composition_unsupported`) rather than approximated.
 */
import { LoraEdgeError } from "../errors.ts";
import { NO_LORA, type GroupFeed, type LoraFeeds } from "../runtime/lora-feeds.ts";
import { groupLayout, LORA_GROUPS, type Architecture, type LoraGroupName } from "../runtime/manifest.ts";
import { dimsOf, type PreparedAdapter, type PreparedDims } from "./prepare.ts";

/** One entry of a request's adapter list. */
export type WeightedAdapter = { adapter: PreparedAdapter; weight: number };

export type ComposeOptions = {
  /** The manifest's `lora.max_rank`: refuse compositions whose summed rank in a group exceeds it. */
  maxRank?: number;
};

/** Largest |weight| of an adapter in a composition: mixes and negations live well inside it, overflow far outside. */
export const MAX_ADAPTER_WEIGHT = 10;

/**
 * The feeds for a request. No adapters (or all weights 0) → `NO_LORA`; one adapter at weight 1 →
 * its cached `feeds` (no work, no copy); otherwise a fresh concatenation. Feeds are read-only.
 *
 * @example
 * composeAdapters(arch, [{ adapter: legal, weight: 0.7 }, { adapter: medical, weight: 0.3 }], { maxRank: manifest.lora.max_rank })
 */
export function composeAdapters(arch: Architecture, adapters: readonly WeightedAdapter[], options: ComposeOptions = {}): LoraFeeds {
  const want = dimsOf(arch);
  for (const [i, { adapter, weight }] of adapters.entries()) {
    if (typeof weight !== "number" || !Number.isFinite(weight) || Math.abs(weight) > MAX_ADAPTER_WEIGHT) {
      throw new LoraEdgeError(400, "invalid_adapter_weight", `adapters[${i}].weight is ${weight}; weights must be finite numbers between -${MAX_ADAPTER_WEIGHT} and ${MAX_ADAPTER_WEIGHT}`, { param: `adapters.${i}.weight` });
    }
    if ((Object.keys(want) as (keyof PreparedDims)[]).some((k) => adapter.dims[k] !== want[k])) {
      throw new LoraEdgeError(409, "adapter_base_mismatch", `adapters[${i}] was prepared for dims ${JSON.stringify(adapter.dims)}, the base has ${JSON.stringify(want)}`, { param: "adapters" });
    }
  }
  const active = adapters.filter((a) => a.weight !== 0);
  if (active.length === 0) return NO_LORA;
  if (active.some((a) => a.adapter.dora) && (active.length > 1 || active[0]!.weight !== 1)) {
    throw new LoraEdgeError(400, "dora_composition_unsupported", "a DoRA adapter can only be used alone with weight 1 (its magnitude renormalizes the projection's whole output, so weighted mixes have no exact form)", { param: "adapters" });
  }
  if (active.length === 1 && active[0]!.weight === 1) {
    assertMaxRank(active[0]!.adapter.feeds, options.maxRank);
    return active[0]!.adapter.feeds;
  }

  const layers: LoraFeeds["layers"] = [];
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    const layer: Partial<Record<LoraGroupName, GroupFeed>> = {};
    for (const g of LORA_GROUPS) {
      const parts = active.flatMap(({ adapter, weight }) => {
        const feed = adapter.layers[l]?.[g.name]?.feed;
        return feed && feed.rank > 0 ? [{ feed, weight }] : [];
      });
      if (parts.length > 0) layer[g.name] = concatenate(parts, groupLayout(arch, g.name));
    }
    layers.push(layer);
  }
  const feeds: LoraFeeds = { layers, dora: false };
  assertMaxRank(feeds, options.maxRank);
  return feeds;
}

/** A = [A₁ | A₂ | …] [in, R], B = [w₁·B₁ ; w₂·B₂ ; …] [R, out]. */
function concatenate(parts: { feed: GroupFeed; weight: number }[], { in: n, out }: { in: number; out: number }): GroupFeed {
  const R = parts.reduce((s, p) => s + p.feed.rank, 0);
  const A = new Float32Array(n * R);
  const B = new Float32Array(R * out);
  let offset = 0;
  for (const { feed, weight } of parts) {
    const r = feed.rank;
    for (let i = 0; i < n; i++) A.set(feed.A.subarray(i * r, (i + 1) * r), i * R + offset);
    const dst = offset * out;
    if (weight === 1) B.set(feed.B, dst);
    else {
      for (let k = 0; k < r * out; k++) {
        B[dst + k] = weight * feed.B[k]!;
        if (!Number.isFinite(B[dst + k]!)) throw new LoraEdgeError(400, "invalid_adapter_weight", `weight ${weight} times an adapter's factors overflows float32; use a smaller weight`, { param: "adapters" });
      }
    }
    offset += r;
  }
  return { rank: R, A, B };
}

function assertMaxRank(feeds: LoraFeeds, maxRank: number | undefined): void {
  if (maxRank === undefined) return;
  feeds.layers.forEach((layer, l) => {
    for (const [g, feed] of Object.entries(layer)) {
      if (feed.rank > maxRank) {
        throw new LoraEdgeError(400, "rank_too_large", `layer ${l} group ${g} needs rank ${feed.rank} for this adapter mix, above the base model's max_rank ${maxRank}`, { param: "adapters" });
      }
    }
  });
}
