/**
 * The router in memory: feature settings, a calibrated linear model over `none` plus the routable
 * domains, per-domain thresholds, and the replay examples runtime domain registration trains against.
 */
import type { FeatureConfig, SparseVector } from "./features.ts";
import { extractFeatures } from "./features.ts";
import type { LinearModel } from "./model.ts";
import { computeLogits, softmax } from "./model.ts";
import type { TrainOptions } from "./train.ts";

/** The class that means "no adapter": predicting it always falls back to the base model. */
export const NONE_CLASS = "none";

/** How earlier user turns of a conversation count (see `conversationFeatures`). */
export interface ConversationContextConfig {
  /** Weight of the user turn `d` turns before the latest is `earlierTurnWeight ** d`. */
  earlierTurnWeight: number;
  /** At most this many earlier user turns are read. */
  maxEarlierTurns: number;
  /** Only the last this-many code units of each earlier turn are read. */
  earlierTurnMaxChars: number;
}

export interface Router {
  features: FeatureConfig;
  /** Classes are `none` and the routable domains; logits are calibrated by dividing by `temperature`. */
  model: LinearModel;
  temperature: number;
  /** Per-domain minimum calibrated confidence to route to that domain; below it → base model. */
  thresholds: Readonly<Record<string, number>>;
  /** Threshold given to domains registered at run time. */
  addedDomainThreshold: number;
  context: ConversationContextConfig;
  /**
   * Texts per class that a runtime-added domain is fitted against: the validation split for the
   * trained classes (held out from training, so the model's logits on them are honest), and the
   * registration examples of added domains.
   */
  replay: Readonly<Record<string, readonly string[]>>;
  /** Optimiser settings for fitting a runtime-added domain. */
  addDomainTraining: TrainOptions;
}

/**
 * Calibrated class probabilities for one feature vector: `softmax((W·x + b) / T)`.
 *
 * @example classProbabilities(router, extractFeatures("refund please", router.features)) // → Float64Array [classes]
 */
export function classProbabilities(router: Router, x: SparseVector): Float64Array {
  return softmax(computeLogits(router.model, x), router.temperature);
}

/**
 * Calibrated probabilities of every class for one text, keyed by class name.
 *
 * @example scoreText(router, "my parcel never arrived") // → { none: 0.01, sales: 0.02, support: 0.95, technical: 0.02 }
 */
export function scoreText(router: Router, text: string): Record<string, number> {
  return namedScores(router, classProbabilities(router, extractFeatures(text, router.features)));
}

/** Pairs each probability with its class name. */
export function namedScores(router: Router, probabilities: Float64Array): Record<string, number> {
  const scores: Record<string, number> = {};
  router.model.classes.forEach((name, c) => {
    scores[name] = probabilities[c] as number;
  });
  return scores;
}
