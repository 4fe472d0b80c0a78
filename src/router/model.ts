/**
 * Multinomial logistic regression over hashed features: `logits = W·x + b`, `p = softmax(logits / T)`.
 */
import type { SparseVector } from "./features.ts";

/** A linear classifier: one weight row and one bias per class. */
export interface LinearModel {
  /** Class names, in row order. */
  classes: readonly string[];
  dim: number;
  /** [classes, dim], row-major: row k is class k's weight vector. */
  weights: Float32Array;
  /** [classes] */
  bias: Float32Array;
}

/**
 * Raw class scores `W·x + b` for one sparse feature vector.
 *
 * @example computeLogits(model, extractFeatures("refund please", config)) // → Float64Array [classes]
 */
export function computeLogits(model: LinearModel, x: SparseVector): Float64Array {
  const k = model.classes.length;
  const logits = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const row = c * model.dim;
    let z = model.bias[c] as number;
    for (let i = 0; i < x.indices.length; i++) z += (model.weights[row + (x.indices[i] as number)] as number) * (x.values[i] as number);
    logits[c] = z;
  }
  return logits;
}

/**
 * Softmax of `logits / temperature`, stable against overflow (the max is subtracted first).
 *
 * @example softmax(Float64Array.of(2, 0), 1) // → [0.881, 0.119]
 */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const probabilities = new Float64Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, (logits[i] as number) / temperature);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) / temperature - max);
    probabilities[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) probabilities[i] = (probabilities[i] as number) / sum;
  return probabilities;
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}
