import { describe, expect, it } from "vitest";
import { offsetFromUint8, offsetToUint8 } from "./quantize.ts";

describe("int8 weights stored as uint8 with zero point 128", () => {
  it("maps every int8 value v to v + 128 and back", () => {
    const all = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    const u = offsetToUint8(all);
    expect(Array.from(u)).toEqual(Array.from(all, (v) => v + 128));
    expect(Array.from(offsetFromUint8(u))).toEqual(Array.from(all));
  });

  it("reads a view into a larger buffer without touching the bytes around it", () => {
    const buffer = Int8Array.of(5, -3, 127, -128, 9);
    const view = buffer.subarray(1, 4);
    expect(Array.from(offsetToUint8(view))).toEqual([125, 255, 0]);
    expect(Array.from(buffer)).toEqual([5, -3, 127, -128, 9]);
  });
});
