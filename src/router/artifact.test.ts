import { describe, expect, it } from "vitest";
import { LoraEdgeError } from "../errors.ts";
import { dequantiseBucketWeights, encodeBase64, loadRouter, quantiseBucketWeights, quantiseRows } from "./artifact.ts";
import { readCommittedArtifact, shippedSourceFiles } from "./test-data.ts";

const MAX_ARTIFACT_BYTES = 2 * 1024 * 1024;

describe("router artifact", () => {
  const text = readCommittedArtifact();

  it(`is at most ${MAX_ARTIFACT_BYTES} bytes`, () => {
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(MAX_ARTIFACT_BYTES);
  });

  it("loads into a router whose classes are none plus the three domains", () => {
    const router = loadRouter(JSON.parse(text));
    expect(router.model.classes).toEqual(["none", "sales", "support", "technical"]);
    expect(router.model.weights.length).toBe(4 * router.features.dim);
    expect(router.temperature).toBeGreaterThan(0);
  });

  function expectInvalid(mutate: (artifact: Record<string, unknown>) => void, message: RegExp): void {
    const artifact = JSON.parse(text) as Record<string, unknown>;
    mutate(artifact);
    try {
      loadRouter(artifact);
    } catch (error) {
      expect(error).toBeInstanceOf(LoraEdgeError);
      expect((error as LoraEdgeError).code).toBe("invalid_router_artifact");
      expect((error as LoraEdgeError).message).toMatch(message);
      return;
    }
    throw new Error("expected loadRouter to reject the artifact");
  }

  it("rejects another version, truncated weights, a missing none class and unknown threshold domains", () => {
    expectInvalid((a) => (a.version = 2), /version/);
    expectInvalid((a) => ((a.weights as { base64: string }).base64 = (a.weights as { base64: string }).base64.slice(0, 4000)), /weights hold/);
    expectInvalid((a) => (a.classes = ["nothing", "sales", "support", "technical"]), /none/);
    expectInvalid((a) => ((a.thresholds as Record<string, number>).legal = 0.5), /unknown domain "legal"/);
    expectInvalid((a) => ((a.features as { dim: number }).dim = 1000), /power of two/);
    expectInvalid((a) => (a.bucketWeights = { encoding: "uint8-scale", scale: 0.1, base64: encodeBase64(new Uint8Array(100)) }), /bucketWeights hold 100 values/);
  });

  it("carries the per-bucket feature weights it was trained with", () => {
    const router = loadRouter(JSON.parse(text));
    expect(router.features.bucketWeights?.length).toBe(router.features.dim);
  });
});

describe("quantiseRows", () => {
  it("keeps every weight within half a quantisation step of its float value", () => {
    const weights = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i * 1.7) * (i < 64 ? 3 : 0.01));
    const { bytes, scales } = quantiseRows(weights, 2, 64);
    for (let j = 0; j < weights.length; j++) {
      const scale = scales[Math.floor(j / 64)] as number;
      expect(Math.abs((bytes[j] as number) * scale - (weights[j] as number))).toBeLessThanOrEqual(scale / 2 + 1e-12);
    }
  });
});

describe("quantiseBucketWeights", () => {
  it("keeps every non-negative weight within half a step, and zero exactly", () => {
    const weights = Float32Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? 0 : 1 + Math.abs(Math.sin(i)) * 8));
    const { bytes, scale } = quantiseBucketWeights(weights);
    const back = dequantiseBucketWeights(bytes, scale);
    for (let j = 0; j < weights.length; j++) expect(Math.abs((back[j] as number) - (weights[j] as number))).toBeLessThanOrEqual(scale / 2 + 1e-6);
    expect(back[0]).toBe(0);
  });
});

describe("src/router runs inside workerd", () => {
  it("uses no Node APIs in the code that ships (node: imports, Buffer, process, require)", () => {
    for (const { name, text } of shippedSourceFiles()) {
      expect(text, name).not.toMatch(/from\s+["']node:|\bBuffer\b|\bprocess\.|\brequire\(/);
    }
  });
});
