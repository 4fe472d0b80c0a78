/**
 * What the runtime feeds the graph's LoRA inputs for one request (contract 2).
 *
 * Adapters are prepared into this form once (src/adapters); the runtime only wraps the arrays in
 * tensors. A missing layer/group means rank 0 there: exactly the base model.
 */
import type { LoraGroupName } from "./manifest.ts";

/** One group's side path: `y += (x · A) · B`, scaling and composition weights already folded into B. */
export type GroupFeed = {
  rank: number;
  /** [in, rank], row-major */
  A: Float32Array;
  /** [rank, out], row-major; `out` is the group's fused width (q|k|v, gate|up) */
  B: Float32Array;
  /** DoRA only: [out] per-output-channel multiplier of the group's output (1 where not DoRA) */
  scale?: Float32Array;
};

export type LoraFeeds = {
  /** layers[l][group] — absent = rank 0 */
  layers: Array<Partial<Record<LoraGroupName, GroupFeed>>>;
  /** true when any group carries a DoRA scale: the runtime then runs the DoRA graph variant */
  dora: boolean;
};

/** Feeds for the plain base model. */
export const NO_LORA: LoraFeeds = { layers: [], dora: false };
