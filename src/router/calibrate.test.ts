import { describe, expect, it } from "vitest";
import { expectedCalibrationError, fitTemperature, negativeLogLikelihood } from "./calibrate.ts";
import { softmax } from "./model.ts";
import { seededUniform } from "../runtime/random.ts";

const seededRandom = seededUniform;

describe("expectedCalibrationError", () => {
  it("weights each bin's |accuracy − confidence| by its share of examples", () => {
    // bin 9: one right at 0.9 → |1 − 0.9|; bin 6: one wrong at 0.6 → |0 − 0.6|; ECE = (0.1 + 0.6) / 2
    const { ece, bins } = expectedCalibrationError([0.9, 0.6], [true, false]);
    expect(ece).toBeCloseTo(0.35, 12);
    expect(bins).toHaveLength(10);
    expect(bins[9]?.count).toBe(1);
    expect(bins[6]?.count).toBe(1);
  });

  it("puts a confidence of exactly 1 in the last bin", () => {
    expect(expectedCalibrationError([1], [true]).bins[9]?.count).toBe(1);
  });
});

describe("fitTemperature", () => {
  it("recovers the temperature that generated the labels", () => {
    const random = seededRandom(7);
    const trueTemperature = 2.5;
    const logits: Float64Array[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const z = Float64Array.from({ length: 4 }, () => (random() - 0.5) * 12);
      const p = softmax(z, trueTemperature);
      let u = random();
      let label = 0;
      while (label < 3 && u > (p[label] as number)) u -= p[label++] as number;
      logits.push(z);
      labels.push(label);
    }
    const fitted = fitTemperature(logits, Int32Array.from(labels));
    expect(fitted).toBeGreaterThan(2.2);
    expect(fitted).toBeLessThan(2.8);
    const nll = (t: number) => negativeLogLikelihood(logits, Int32Array.from(labels), t);
    expect(nll(fitted)).toBeLessThanOrEqual(Math.min(nll(1), nll(5)));
  });
});
