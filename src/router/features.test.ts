import { describe, expect, it } from "vitest";
import { DEFAULT_FEATURE_CONFIG, combineFeatures, extractFeatures, normaliseText } from "./features.ts";

const config = DEFAULT_FEATURE_CONFIG;
const norm = (values: Float32Array): number => Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));

describe("extractFeatures", () => {
  it("gives the same buckets and values for the same text every time", () => {
    const a = extractFeatures("Where is my order #48213? It's late!", config);
    const b = extractFeatures("Where is my order #48213? It's late!", config);
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
  });

  it("returns a unit-length vector with strictly increasing indices inside [0, dim)", () => {
    const x = extractFeatures("The Python SDK throws a 401 when I call /v1/orders", config);
    expect(norm(x.values)).toBeCloseTo(1, 5);
    for (let i = 1; i < x.indices.length; i++) expect(x.indices[i]).toBeGreaterThan(x.indices[i - 1] as number);
    expect(x.indices[0]).toBeGreaterThanOrEqual(0);
    expect(x.indices[x.indices.length - 1]).toBeLessThan(config.dim);
  });

  it("lower-cases Unicode text and maps every digit to 0", () => {
    expect(normaliseText("ÉTÉ Straße ORDER 48213", 4096)).toBe("été straße order 00000");
    const upper = extractFeatures("ÉTÉ ORDER 12345", config);
    const lower = extractFeatures("été order 99999", config);
    expect(Array.from(upper.indices)).toEqual(Array.from(lower.indices));
  });

  it("gives the empty vector for empty, whitespace-only and symbol-only text", () => {
    for (const text of ["", "   \n\t ", "?!... :) --"]) expect(extractFeatures(text, config).indices.length).toBe(0);
  });

  it("examines only the last maxChars code units, so a huge text costs no more than its tail", () => {
    const tail = "the api returns 500 on every call";
    const huge = "x".repeat(100_000) + " " + tail;
    const small = { ...config, maxChars: tail.length + 1 };
    expect(Array.from(extractFeatures(huge, small).indices)).toEqual(Array.from(extractFeatures(" " + tail, small).indices));
  });

  it("never starts the examined tail inside a surrogate pair", () => {
    // "😀" is two code units; cutting after its first leaves a lone low surrogate, which is dropped
    expect(normaliseText("a😀b", 2)).toBe("b");
  });
});

describe("combineFeatures", () => {
  it("adds weighted vectors and L2-normalises the sum", () => {
    const a = extractFeatures("refund", config);
    const b = extractFeatures("pricing", config);
    const combined = combineFeatures([{ vector: a, weight: 1 }, { vector: b, weight: 0.3 }]);
    expect(norm(combined.values)).toBeCloseTo(1, 5);
    const at = (index: number): number => combined.values[Array.from(combined.indices).indexOf(index)] ?? 0;
    // "refund" and "pricing" share no buckets here, so the ratio of their entries is the weight ratio
    expect(at(b.indices[0] as number) / at(a.indices[0] as number)).toBeCloseTo((0.3 * (b.values[0] as number)) / (a.values[0] as number), 4);
  });
});
