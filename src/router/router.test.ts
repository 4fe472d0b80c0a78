import { describe, expect, it } from "vitest";
import { evaluateRouter } from "./metrics.ts";
import { defaultRouter } from "./default-router.ts";
import { committedRouter, readRouterData, sameFloats } from "./test-data.ts";

/** Calibration bound we hold the committed artifact to on the held-out test split (10-bin ECE). */
const MAX_TEST_ECE = 0.08;

describe("committed router on the held-out test split", () => {
  const evaluation = evaluateRouter(committedRouter(), readRouterData("test"));

  it("puts the right class on top for at least 95% of test examples", () => {
    expect(evaluation.examples).toBeGreaterThan(200);
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it("sends at least 80% of off-topic (none) test examples to the base model", () => {
    expect(evaluation.fallbackRate.none).toBeGreaterThanOrEqual(0.8);
  });

  it(`has a 10-bin expected calibration error below ${MAX_TEST_ECE}`, () => {
    expect(evaluation.ece).toBeLessThan(MAX_TEST_ECE);
  });
});

describe("defaultRouter", () => {
  it("is the committed artifact, bundled as a JSON module", () => {
    const bundled = defaultRouter();
    expect(bundled.model.classes).toEqual(committedRouter().model.classes);
    expect(sameFloats(bundled.model.weights, committedRouter().model.weights)).toBe(true);
    expect(defaultRouter()).toBe(bundled); // loaded once
  });
});
