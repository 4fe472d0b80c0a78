/**
 * The offline training pipeline, as one pure function: bucket weights (inverse document frequency)
 * → fit → quantise → calibrate on validation → choose thresholds → artifact. The training CLI and the determinism test both call it.
 */
import type { RouterArtifact } from "./artifact.ts";
import { buildArtifact, dequantiseBucketWeights, encodeBase64, loadRouter, quantiseBucketWeights, quantiseRows } from "./artifact.ts";
import { calibrationErrorOfLogits, fitTemperature } from "./calibrate.ts";
import type { LabelledExample } from "./dataset.ts";
import type { FeatureConfig } from "./features.ts";
import { DEFAULT_FEATURE_CONFIG, bucketIdf, extractFeatures } from "./features.ts";
import { argmax, computeLogits, softmax } from "./model.ts";
import type { ConversationContextConfig, Router } from "./router.ts";
import { NONE_CLASS } from "./router.ts";
import { bayesThresholds, ROUTE_THRESHOLD } from "./thresholds.ts";
import type { TrainOptions } from "./train.ts";
import { DEFAULT_TRAIN_OPTIONS, fitSoftmaxRegression, zeroModel } from "./train.ts";

/** Every setting of a training run; the defaults are what `npm run train:router` uses. */
export interface RouterBuildSettings {
  features: FeatureConfig;
  training: TrainOptions;
  addDomainTraining: TrainOptions;
  context: ConversationContextConfig;
  /** Weight each feature bucket by its inverse document frequency in the training texts. */
  idf: boolean;
  /**
   * Threshold of domains registered at run time, which have no validation data of their own: the
   * trained domains' Bayes threshold (thresholds.ts), 0.5. It was 0.55, chosen with the
   * development domains (data/router/dev-domain-*.jsonl) as the highest at which ≥ 85 % of their
   * held-out messages are routed from 20 examples; with the router-only company questions in the
   * replay texts a new row is less sure of itself, and 0.55 routed legal's 82.5 % (0.5: 90 %).
   */
  addedDomainThreshold: number;
}

export const DEFAULT_BUILD_SETTINGS: RouterBuildSettings = {
  features: DEFAULT_FEATURE_CONFIG,
  training: DEFAULT_TRAIN_OPTIONS,
  addDomainTraining: { l2: 1e-4, iterations: 200, learningRate: 2 },
  context: { earlierTurnWeight: 0.3, maxEarlierTurns: 3, earlierTurnMaxChars: 1024 },
  idf: true,
  addedDomainThreshold: ROUTE_THRESHOLD,
};

/** Most replay texts stored per class (see `Router.replay`). */
const REPLAY_TEXTS_PER_CLASS = 100;

/**
 * At most `count` items spread evenly through `items`, in order.
 *
 * @example evenSample([1, 2, 3, 4, 5, 6], 3) // → [1, 3, 5]
 */
function evenSample<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return items.slice();
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)] as T);
}

/** What the pipeline measured on the validation split, with the artifact it wrote. */
export interface RouterBuildResult {
  artifact: RouterArtifact;
  router: Router;
  validation: { accuracy: number; eceBeforeCalibration: number; ece: number; temperature: number; thresholds: Record<string, number> };
}

/**
 * Trains a router from labelled train and validation examples. Classes are the sorted labels of the
 * training set and must include `none`. Deterministic: same inputs → same artifact.
 *
 * @example const { artifact, validation } = buildRouter(train, val) // validation.accuracy ≈ 0.97
 */
export function buildRouter(train: readonly LabelledExample[], val: readonly LabelledExample[], settings: RouterBuildSettings = DEFAULT_BUILD_SETTINGS): RouterBuildResult {
  const classes = [...new Set(train.map((e) => e.domain))].sort();
  if (!classes.includes(NONE_CLASS)) throw new Error(`training data has no "${NONE_CLASS}" examples`);
  const unknown = val.find((e) => !classes.includes(e.domain));
  if (unknown) throw new Error(`validation label "${unknown.domain}" does not occur in training data`);
  const dim = settings.features.dim;
  // per-bucket weights first (quantised as stored), so every vector below is the served one
  const storedBucketWeights = settings.idf ? quantiseBucketWeights(bucketIdf(train.map((e) => e.text), settings.features)) : undefined;
  const features = storedBucketWeights ? { ...settings.features, bucketWeights: dequantiseBucketWeights(storedBucketWeights.bytes, storedBucketWeights.scale) } : settings.features;
  const classIndex = (domain: string): number => classes.indexOf(domain);

  // fit in float, then quantise: everything after this sees the served (dequantised) weights
  const trainVectors = train.map((e) => extractFeatures(e.text, features));
  const fitted = fitSoftmaxRegression({ vectors: trainVectors, labels: Int32Array.from(train, (e) => classIndex(e.domain)), initial: zeroModel(classes, dim) }, settings.training);
  const quantised = quantiseRows(fitted.weights, classes.length, dim);
  const bias = Float32Array.from(fitted.bias);
  const served = { classes, dim, weights: Float32Array.from(quantised.bytes, (q, j) => q * (quantised.scales[Math.floor(j / dim)] as number)), bias };

  // temperature scaling on validation; thresholds are the Bayes decision on those probabilities
  const valLogits = val.map((e) => computeLogits(served, extractFeatures(e.text, features)));
  const valLabels = Int32Array.from(val, (e) => classIndex(e.domain));
  const temperature = fitTemperature(valLogits, valLabels);
  const valProbabilities = valLogits.map((z) => softmax(z, temperature));
  const thresholds = bayesThresholds(classes, NONE_CLASS);
  const accuracy = valProbabilities.filter((p, i) => argmax(p) === valLabels[i]).length / Math.max(1, val.length);
  const eceBeforeCalibration = calibrationErrorOfLogits(valLogits, valLabels, 1);
  const ece = calibrationErrorOfLogits(valLogits, valLabels, temperature);

  // addDomain fits new rows against held-out texts (see domains.ts): the validation split, at most
  // REPLAY_TEXTS_PER_CLASS per class taken evenly through it, which bounds registration time
  const replay: Record<string, string[]> = {};
  for (const domain of classes) replay[domain] = evenSample(val.filter((e) => e.domain === domain).map((e) => e.text), REPLAY_TEXTS_PER_CLASS);
  const artifact = buildArtifact(classes, bias, quantised, {
    features: { hash: "fnv1a32-fmix32", ...settings.features },
    ...(storedBucketWeights ? { bucketWeights: { encoding: "uint8-scale" as const, scale: storedBucketWeights.scale, base64: encodeBase64(storedBucketWeights.bytes) } } : {}),
    temperature,
    thresholds,
    addedDomainThreshold: settings.addedDomainThreshold,
    context: settings.context,
    training: { base: settings.training, addDomain: settings.addDomainTraining },
    metrics: { trainExamples: train.length, valExamples: val.length, valAccuracy: accuracy, valEceBeforeCalibration: eceBeforeCalibration, valEce: ece },
    replay,
  });
  // Serve what was stored: the router comes from the artifact, not from the training-time objects.
  return { artifact, router: loadRouter(artifact), validation: { accuracy, eceBeforeCalibration, ece, temperature, thresholds } };
}
