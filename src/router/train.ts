/**
 * Deterministic fitting of softmax regression: full-batch gradient descent with Nesterov momentum and
 * L2 on the weights, examples in their given order, no randomness at all, so the same data always
 * yields the same bits. Plain gradient steps (not Adam) on purpose: Adam's per-coordinate scaling
 * gives rare, template-specific n-grams as much weight as common domain words, which generalised
 * worse to unseen phrasings on the validation split.
 */
import type { SparseVector } from "./features.ts";
import type { LinearModel } from "./model.ts";

/** Optimiser settings; stored in the artifact so a run can be reproduced. */
export interface TrainOptions {
  /** L2 penalty on weights (not biases), added to the weighted mean cross-entropy as `l2/2·‖W‖²`. */
  l2: number;
  /** Full-batch gradient steps. */
  iterations: number;
  /** Step size (features are L2-normalised, so the loss is smooth with a constant near 1). */
  learningRate: number;
}

const MOMENTUM = 0.9;

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = { l2: 3e-5, iterations: 600, learningRate: 2 };

/** What to fit: examples, their class index and weight, and which classes' parameters may move. */
export interface SoftmaxProblem {
  vectors: readonly SparseVector[];
  /** [examples] class index of each example */
  labels: Int32Array;
  /** [examples] weight of each example in the loss; 1 when omitted */
  sampleWeights?: Float64Array;
  /** Starting parameters (zeros when omitted); rows of classes not in `trainableClasses` stay fixed. */
  initial: LinearModel;
  /** Classes whose weight rows and biases are fitted; all when omitted. */
  trainableClasses?: readonly number[];
  /**
   * [examples][classes] constant added to every logit (e.g. a frozen model's calibrated logits);
   * the loss is computed on `offset + W·x + b`.
   */
  logitOffsets?: readonly Float64Array[];
  /** Fit the trainable rows' biases too (default true); false keeps them at their initial value. */
  fitBias?: boolean;
}

/**
 * Fits the trainable rows of a softmax regression and returns a new model (the input is untouched).
 *
 * @example const model = fitSoftmaxRegression({ vectors, labels, initial: zeroModel(["a","b"], 1 << 16) }, DEFAULT_TRAIN_OPTIONS)
 */
export function fitSoftmaxRegression(problem: SoftmaxProblem, options: TrainOptions): LinearModel {
  const { vectors, labels, initial } = problem;
  const classCount = initial.classes.length;
  const dim = initial.dim;
  const trainable = Int32Array.from(problem.trainableClasses ?? Array.from({ length: classCount }, (_, c) => c));
  const rows = trainable.length;
  const sampleWeights = problem.sampleWeights ?? new Float64Array(vectors.length).fill(1);
  let totalWeight = 0;
  for (const w of sampleWeights) totalWeight += w;

  // Only buckets some example touches can get a gradient, so training works in a compact space of
  // the A active buckets: local[j] is bucket active[j].
  const activeSet = new Set<number>();
  for (const x of vectors) for (const index of x.indices) activeSet.add(index);
  const active = Int32Array.from(activeSet).sort();
  const activeCount = active.length;
  const localOf = new Map<number, number>();
  active.forEach((index, j) => localOf.set(index, j));
  const localIndices = vectors.map((x) => Int32Array.from(x.indices, (index) => localOf.get(index) as number));

  // Parameters being fitted, float64 while training: [A, rows] (feature-major, so one pass over an
  // example's features serves every row) and [rows]; row r ↔ class trainable[r].
  const weights = new Float64Array(activeCount * rows);
  const bias = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = trainable[r] as number;
    for (let j = 0; j < activeCount; j++) weights[j * rows + r] = initial.weights[c * dim + (active[j] as number)] as number;
    bias[r] = initial.bias[c] as number;
  }

  // Frozen classes' logits never change: compute them once (offset + their W·x + b).
  const isTrainable = new Uint8Array(classCount);
  for (const c of trainable) isTrainable[c] = 1;
  const fixedLogits = vectors.map((x, i) => {
    const z = new Float64Array(classCount);
    const offset = problem.logitOffsets?.[i];
    for (let c = 0; c < classCount; c++) {
      z[c] = offset ? (offset[c] as number) : 0;
      if (isTrainable[c]) continue;
      let dot = initial.bias[c] as number;
      for (let n = 0; n < x.indices.length; n++) dot += (initial.weights[c * dim + (x.indices[n] as number)] as number) * (x.values[n] as number);
      z[c] = (z[c] as number) + dot;
    }
    return z;
  });

  const gradWeights = new Float64Array(rows * activeCount);
  const gradBias = new Float64Array(rows);
  const velocity = new Float64Array(rows * activeCount);
  const velocityBias = new Float64Array(rows);
  const logits = new Float64Array(classCount);
  const rowLogits = new Float64Array(rows);
  const rowGrads = new Float64Array(rows);

  for (let step = 1; step <= options.iterations; step++) {
    gradWeights.fill(0);
    gradBias.fill(0);
    for (let i = 0; i < vectors.length; i++) {
      const indices = localIndices[i] as Int32Array;
      const values = (vectors[i] as SparseVector).values;
      // forward: z = fixed + W·x + b for trainable rows, then p = softmax(z) in place
      logits.set(fixedLogits[i] as Float64Array);
      rowLogits.set(bias);
      for (let n = 0; n < indices.length; n++) {
        const base = (indices[n] as number) * rows;
        const v = values[n] as number;
        for (let r = 0; r < rows; r++) rowLogits[r] = (rowLogits[r] as number) + (weights[base + r] as number) * v;
      }
      for (let r = 0; r < rows; r++) {
        const c = trainable[r] as number;
        logits[c] = (logits[c] as number) + (rowLogits[r] as number);
      }
      let max = -Infinity;
      for (let c = 0; c < classCount; c++) max = Math.max(max, logits[c] as number);
      let sum = 0;
      for (let c = 0; c < classCount; c++) {
        const e = Math.exp((logits[c] as number) - max);
        logits[c] = e;
        sum += e;
      }
      // backward: dL/dz_c = w_i·(p_c − y_c) / Σw
      const scale = (sampleWeights[i] as number) / totalWeight;
      for (let r = 0; r < rows; r++) {
        const c = trainable[r] as number;
        const g = ((logits[c] as number) / sum - (labels[i] === c ? 1 : 0)) * scale;
        rowGrads[r] = g;
        gradBias[r] = (gradBias[r] as number) + g;
      }
      for (let n = 0; n < indices.length; n++) {
        const base = (indices[n] as number) * rows;
        const v = values[n] as number;
        for (let r = 0; r < rows; r++) gradWeights[base + r] = (gradWeights[base + r] as number) + (rowGrads[r] as number) * v;
      }
    }
    // Nesterov momentum (PyTorch's form): v ← μv + g;  θ ← θ − lr·(g + μv), L2 folded into g
    for (let k = 0; k < rows * activeCount; k++) {
      const g = (gradWeights[k] as number) + options.l2 * (weights[k] as number);
      const v = MOMENTUM * (velocity[k] as number) + g;
      velocity[k] = v;
      weights[k] = (weights[k] as number) - options.learningRate * (g + MOMENTUM * v);
    }
    for (let r = 0; r < rows && problem.fitBias !== false; r++) {
      const g = gradBias[r] as number;
      const v = MOMENTUM * (velocityBias[r] as number) + g;
      velocityBias[r] = v;
      bias[r] = (bias[r] as number) - options.learningRate * (g + MOMENTUM * v);
    }
  }

  const fitted: LinearModel = { classes: initial.classes.slice(), dim, weights: Float32Array.from(initial.weights), bias: Float32Array.from(initial.bias) };
  for (let r = 0; r < rows; r++) {
    const c = trainable[r] as number;
    for (let j = 0; j < activeCount; j++) fitted.weights[c * dim + (active[j] as number)] = weights[j * rows + r] as number;
    fitted.bias[c] = bias[r] as number;
  }
  return fitted;
}

/**
 * A model of the given classes with all parameters zero: the starting point for training.
 *
 * @example zeroModel(["none", "sales"], 1 << 16).weights.length // → 131072
 */
export function zeroModel(classes: readonly string[], dim: number): LinearModel {
  return { classes: classes.slice(), dim, weights: new Float32Array(classes.length * dim), bias: new Float32Array(classes.length) };
}
