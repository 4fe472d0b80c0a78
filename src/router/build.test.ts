import { describe, expect, it } from "vitest";
import { serialiseArtifact } from "./artifact.ts";
import { buildRouter } from "./build.ts";
import { computeLogits, argmax } from "./model.ts";
import { readCommittedArtifact, readRouterData } from "./test-data.ts";
import { fitSoftmaxRegression, zeroModel } from "./train.ts";

describe("buildRouter on the repo's data", () => {
  const train = readRouterData("train");
  const val = readRouterData("val");

  it("writes the same bytes on every run, identical to the committed artifact", () => {
    const first = serialiseArtifact(buildRouter(train, val).artifact);
    const second = serialiseArtifact(buildRouter(train, val).artifact);
    expect(second === first).toBe(true);
    // a mismatch means models/router/router.json is stale: run npx tsx tools/train-router.ts
    expect(first === readCommittedArtifact()).toBe(true);
  }, 300_000); // two trainings of ~15 s of CPU each; a shared 2-core machine stretches them
});

describe("fitSoftmaxRegression", () => {
  const dim = 8;
  const onehot = (index: number) => ({ indices: Int32Array.of(index), values: Float32Array.of(1) });
  // class c is signalled by bucket c (and bucket c + 4 as a second form)
  const vectors = [0, 1, 2, 4, 5, 6].map(onehot);
  const labels = Int32Array.of(0, 1, 2, 0, 1, 2);

  it("separates linearly separable classes", () => {
    const model = fitSoftmaxRegression({ vectors, labels, initial: zeroModel(["a", "b", "c"], dim) }, { l2: 1e-4, iterations: 200, learningRate: 1 });
    vectors.forEach((x, i) => expect(argmax(computeLogits(model, x))).toBe(labels[i]));
  });

  it("moves only the trainable rows", () => {
    const initial = zeroModel(["a", "b", "c"], dim);
    initial.weights[0] = 0.5; // row a
    const model = fitSoftmaxRegression({ vectors, labels, initial, trainableClasses: [2] }, { l2: 1e-4, iterations: 50, learningRate: 1 });
    expect(Array.from(model.weights.subarray(0, 2 * dim))).toEqual(Array.from(initial.weights.subarray(0, 2 * dim)));
    expect(model.weights[2 * dim + 2]).toBeGreaterThan(0);
  });
});
