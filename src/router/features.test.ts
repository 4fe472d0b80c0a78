import { describe, expect, it } from "vitest";
import { DEFAULT_FEATURE_CONFIG, bucketIdf, combineFeatures, extractFeatures, normaliseText } from "./features.ts";

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

describe("bucket weights (inverse document frequency)", () => {
  const small = { ...config, dim: 1 << 12 };
  const texts = ["refund my order", "refund the parcel", "refund it now", "terraform provider"];
  const idf = bucketIdf(texts, small);
  const bucketsOf = (text: string) => Array.from(extractFeatures(text, small).indices);

  it("gives ln((1 + N) / (1 + df)) + 1 to each bucket a training text touches, and 1 to the rest", () => {
    const rare = bucketsOf("terraform provider").filter((j) => !texts.slice(0, 3).some((t) => bucketsOf(t).includes(j)));
    expect(rare.length).toBeGreaterThan(0);
    for (const j of rare) expect(idf[j]).toBeCloseTo(Math.log(5 / 2) + 1, 6);
    const touched = new Set(texts.flatMap(bucketsOf));
    const untouched = Array.from({ length: small.dim }, (_, j) => j).filter((j) => !touched.has(j));
    expect(untouched.every((j) => idf[j] === 1)).toBe(true);
  });

  it("multiplies each bucket's count before normalisation: a word every text has weighs less than a rare one", () => {
    const plain = extractFeatures("refund terraform", small);
    const weighted = extractFeatures("refund terraform", { ...small, bucketWeights: idf });
    expect(Array.from(weighted.indices)).toEqual(Array.from(plain.indices));
    const at = (x: typeof plain, j: number) => Math.abs(x.values[Array.from(x.indices).indexOf(j)] as number);
    const common = bucketsOf("refund").find((j) => (idf[j] as number) < Math.log(5 / 4) + 1.0001) as number;
    const rare = bucketsOf("terraform").find((j) => (idf[j] as number) > Math.log(5 / 2) + 0.9999) as number;
    expect(at(weighted, rare) / at(weighted, common)).toBeGreaterThan(at(plain, rare) / at(plain, common));
    expect(norm(weighted.values)).toBeCloseTo(1, 5);
  });
});
