import { describe, expect, it } from "vitest";
import { transpose } from "./matrix.ts";

describe("transpose", () => {
  it("maps [rows, cols] to [cols, rows], folding in a scale", () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
    expect(Array.from(transpose(x, 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(transpose(transpose(x, 2, 3), 3, 2))).toEqual(Array.from(x));
    expect(Array.from(transpose(x, 2, 3, -0.5))).toEqual([-0.5, -2, -1, -2.5, -1.5, -3]);
  });
  it("refuses a length that is not rows × cols", () => {
    expect(() => transpose(new Float32Array(5), 2, 3)).toThrow(/5 values are not \[2, 3\]/);
  });
});
