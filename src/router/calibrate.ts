/**
 * Calibration: temperature scaling (one scalar T, `p = softmax(z / T)`) fitted on held-out data, and
 * the expected calibration error that says how far "confidence" is from observed accuracy.
 */
import { argmax, softmax } from "./model.ts";

/**
 * Mean negative log-likelihood of the labels under `softmax(logits / temperature)`.
 *
 * @example negativeLogLikelihood([Float64Array.of(2, 0)], Int32Array.of(0), 1) // → 0.127
 */
export function negativeLogLikelihood(logits: readonly Float64Array[], labels: Int32Array, temperature: number): number {
  let total = 0;
  logits.forEach((z, i) => {
    const p = softmax(z, temperature)[labels[i] as number] as number;
    total -= Math.log(Math.max(p, 1e-300));
  });
  return total / Math.max(1, logits.length);
}

/**
 * The temperature in [0.05, 20] that minimises validation NLL, by golden-section search on log T
 * (NLL is unimodal in T for a fixed set of logits); deterministic, ~60 evaluations.
 *
 * @example fitTemperature(valLogits, valLabels) // → e.g. 0.62 (< 1 sharpens, > 1 softens)
 */
export function fitTemperature(logits: readonly Float64Array[], labels: Int32Array): number {
  const invPhi = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const loss = (logT: number): number => negativeLogLikelihood(logits, labels, Math.exp(logT));
  let a = hi - invPhi * (hi - lo);
  let b = lo + invPhi * (hi - lo);
  let lossA = loss(a);
  let lossB = loss(b);
  for (let i = 0; i < 60; i++) {
    if (lossA <= lossB) {
      hi = b; b = a; lossB = lossA;
      a = hi - invPhi * (hi - lo); lossA = loss(a);
    } else {
      lo = a; a = b; lossA = lossB;
      b = lo + invPhi * (hi - lo); lossB = loss(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}

/** One bin of a reliability diagram. */
export interface CalibrationBin {
  /** Confidence range [lower, upper) (the last bin includes 1). */
  lower: number;
  upper: number;
  count: number;
  meanConfidence: number;
  accuracy: number;
}

/**
 * Expected calibration error with equal-width bins over the top-class confidence:
 * `ECE = Σ_b (n_b / N) · |accuracy_b − meanConfidence_b|`. Returns the ECE and the bins.
 *
 * @example expectedCalibrationError([0.9, 0.6], [true, false]) // → { ece: 0.35, bins: [...] }
 */
export function expectedCalibrationError(confidences: ArrayLike<number>, correct: ArrayLike<boolean>, binCount = 10): { ece: number; bins: CalibrationBin[] } {
  const sums = Array.from({ length: binCount }, () => ({ count: 0, confidence: 0, correct: 0 }));
  for (let i = 0; i < confidences.length; i++) {
    const confidence = confidences[i] as number;
    const bin = sums[Math.min(binCount - 1, Math.floor(confidence * binCount))];
    if (!bin) continue;
    bin.count++;
    bin.confidence += confidence;
    if (correct[i]) bin.correct++;
  }
  const total = confidences.length;
  let ece = 0;
  const bins = sums.map((s, b) => {
    const meanConfidence = s.count ? s.confidence / s.count : 0;
    const accuracy = s.count ? s.correct / s.count : 0;
    if (total > 0) ece += (s.count / total) * Math.abs(accuracy - meanConfidence);
    return { lower: b / binCount, upper: (b + 1) / binCount, count: s.count, meanConfidence, accuracy };
  });
  return { ece, bins };
}

/**
 * ECE of a set of logits under a temperature: confidence = top softmax probability, correct = the
 * top class is the label.
 *
 * @example calibrationErrorOfLogits(testLogits, testLabels, router.temperature) // → 0.03
 */
export function calibrationErrorOfLogits(logits: readonly Float64Array[], labels: Int32Array, temperature: number): number {
  const confidences = new Float64Array(logits.length);
  const correct = logits.map((z, i) => {
    const p = softmax(z, temperature);
    const top = argmax(p);
    confidences[i] = p[top] as number;
    return top === labels[i];
  });
  return expectedCalibrationError(confidences, correct).ece;
}
