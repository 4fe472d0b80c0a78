import { describe, expect, it } from "vitest";
import { median, quantile } from "./stats.ts";

describe("bench statistics", () => {
  it("takes the median of odd and even counts, NaN of none, and leaves its input unsorted", () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([21.9, 19.7])).toBeCloseTo(20.8, 12); // two rounds: their mean, not the larger
    expect(median([])).toBeNaN();
  });

  it("takes quantiles by nearest rank", () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(quantile(xs, 0.5)).toBe(51);
    expect(quantile(xs, 0.99)).toBe(100);
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
