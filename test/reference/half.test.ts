import { describe, expect, it } from "vitest";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";

describe("f32ToF16 / f16ToF32", () => {
  it.each([
    [1, 0x3c00],
    [-2.5, 0xc100],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ])("encodes %d exactly as bits %i", (x, bits) => {
    expect(f32ToF16(x)).toBe(bits);
    expect(Object.is(f16ToF32(bits), x)).toBe(true);
  });

  it("rounds ties to even, including across the subnormal range and into overflow", () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // halfway between 0x3c00 and 0x3c01: even is 0x3c00
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 0x3c01 and 0x3c02: even is 0x3c02
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway rounds up
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // halfway between 0 and the smallest subnormal
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp rounds to 2
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16(2047 * 2 ** -25)).toBe(0x0400); // 1023.5 subnormal ulps rounds up to the smallest normal
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // halfway to 65536 rounds to even: Inf
    expect(f32ToF16(1e-10)).toBe(0x0000);
    expect(f32ToF16(-1e6)).toBe(0xfc00);
  });

  it("maps NaN to a quiet NaN and back", () => {
    expect(f32ToF16(NaN)).toBe(0x7e00);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0x7c01)).toBeNaN();
  });

  it("round-trips every finite half exactly", () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) !== 0x7c00 && f32ToF16(f16ToF32(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});

describe("f32ToBf16 / bf16ToF32", () => {
  it.each([
    [1, 0x3f80],
    [-2.5, 0xc020],
    [65504, 0x4780], // 65504 rounds to 65536 in bf16
    [2 ** -126, 0x0080], // smallest normal
    [2 ** -133, 0x0001], // smallest bf16 subnormal
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
  ])("encodes %d as bits %i", (x, bits) => {
    expect(f32ToBf16(x)).toBe(bits);
  });

  it("decodes bit patterns exactly", () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc020)).toBe(-2.5);
    expect(bf16ToF32(0x4780)).toBe(65536);
    expect(bf16ToF32(0x0001)).toBe(2 ** -133);
    expect(bf16ToF32(0x7f7f)).toBe(3.3895313892515355e38); // largest finite bf16
  });

  it("rounds ties to even and overflows to Inf", () => {
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // halfway between 0x3f80 and 0x3f81
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway between 0x3f81 and 0x3f82
    expect(f32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds up to Inf
    expect(f32ToBf16(-3.4028234663852886e38)).toBe(0xff80);
  });

  it("maps NaN to a quiet NaN keeping its sign", () => {
    expect(f32ToBf16(NaN)).toBe(0x7fc0);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    const negNaN = new Float32Array(new Uint32Array([0xffc00001]).buffer)[0]!;
    expect(f32ToBf16(negNaN)).toBe(0xffc0);
    // a NaN whose payload sits only in the low bits must not round into Inf
    const lowNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0]!;
    expect(f32ToBf16(lowNaN)).toBe(0x7fc0);
  });

  it("round-trips every bf16 value exactly", () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0; // NaNs canonicalise
      if (!isNaN && f32ToBf16(bf16ToF32(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});
