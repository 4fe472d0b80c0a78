/**
 * IEEE half (F16) and bfloat16 (BF16) conversions, bit-exact with PyTorch's `.to(torch.float16)` /
 * `.to(torch.bfloat16)` from float32: round to nearest, ties to even; overflow goes to ±Inf; NaN
 * becomes the canonical quiet NaN (0x7e00 / 0x7fc0) with its sign.
 * Inputs to the `f32To*` functions are first rounded to float32 (`Math.fround`), as in a Float32Array.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

function bitsToF32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/**
 * float32 → bfloat16 bits (the top 16 bits of the float32, rounded to nearest even).
 * @example f32ToBf16(1) === 0x3f80; f32ToBf16(-2.5) === 0xc020
 */
export function f32ToBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) & 0x8000) | 0x7fc0; // NaN
  const lsb = (b >>> 16) & 1;
  return ((b + 0x7fff + lsb) >>> 16) & 0xffff;
}

/**
 * bfloat16 bits → float32 value (exact).
 * @example bf16ToF32(0x3f80) === 1
 */
export function bf16ToF32(h: number): number {
  return bitsToF32((h & 0xffff) << 16);
}

/**
 * float32 → IEEE binary16 bits, round to nearest even, including subnormals.
 * @example f32ToF16(65504) === 0x7bff; f32ToF16(2 ** -24) === 0x0001
 */
export function f32ToF16(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | (mant === 0 ? 0x7c00 : 0x7e00); // Inf, NaN
  const e = exp - 127 + 15; // biased half exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e >= 1) {
    // normal: keep 10 mantissa bits, round the 13 dropped ones; a carry may roll into the exponent (→ Inf)
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  // subnormal half: value = m · 2^-24, m = (1.mant) · 2^(e - 14 + 23) = full >> (14 - e)
  if (exp === 0) return sign; // float32 subnormals are far below 2^-25
  const shift = 14 - e;
  if (shift > 24) return sign;
  const full = mant | 0x800000;
  let h = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h; // h may reach 0x400: the smallest normal, encoded correctly
}

/**
 * IEEE binary16 bits → float32 value (exact).
 * @example f16ToF32(0x3c00) === 1; f16ToF32(0x0001) === 2 ** -24
 */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
