/**
 * Dequantization of GGUF tensors to float32: F32, F16, BF16, the 32-value block formats Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, and the 256-value K-quants Q4_K, Q5_K, Q6_K. Any other type is refused by name.
 *
 * Each format follows ggml's reference `dequantize_row_*` (ggml-quants.c), computed in float32 in the
 * same order (`Math.fround` after every step), so the values are bit-identical to ggml's and to the
 * `gguf` Python package's (tested on random blocks of every type).
 */
import { f16BitsToF32Bits, toFloat32 } from "../adapters/safetensors.ts";
import { GgufError, type GgufTensor } from "./gguf.ts";

export const DEQUANTIZABLE = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"] as const;

const f32 = Math.fround;
const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
/** The float value of the little-endian half at `b[i]`. */
function half(b: Uint8Array, i: number): number {
  bits[0] = f16BitsToF32Bits(b[i]! | (b[i + 1]! << 8));
  return asFloat[0]!;
}

/**
 * A tensor's values as float32, in GGUF order (innermost dimension first, i.e. row-major `[..., ne1, ne0]`).
 *
 * @example const w = dequantizeGguf(gguf.tensors.get("blk.0.ffn_up.weight")!); // Float32Array(576 * 1536)
 */
export function dequantizeGguf(t: GgufTensor): Float32Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  const { data: b } = t;
  const y = new Float32Array(n);
  switch (t.type) {
    case "F32":
    case "F16":
    case "BF16":
      return toFloat32({ dtype: t.type, shape: [n], data: b });
    case "Q4_0": // d f16, qs[16]: x = (q - 8)·d
      for (let blk = 0, o = 0; o < n; blk += 18, o += 32) {
        const d = half(b, blk);
        for (let j = 0; j < 16; j++) {
          const q = b[blk + 2 + j]!;
          y[o + j] = f32(((q & 15) - 8) * d);
          y[o + j + 16] = f32(((q >> 4) - 8) * d);
        }
      }
      return y;
    case "Q4_1": // d f16, m f16, qs[16]: x = q·d + m
      for (let blk = 0, o = 0; o < n; blk += 20, o += 32) {
        const d = half(b, blk);
        const m = half(b, blk + 2);
        for (let j = 0; j < 16; j++) {
          const q = b[blk + 4 + j]!;
          y[o + j] = f32(f32((q & 15) * d) + m);
          y[o + j + 16] = f32(f32((q >> 4) * d) + m);
        }
      }
      return y;
    case "Q5_0": // d f16, qh u32, qs[16]: 5-bit q = low nibble | high bit from qh, x = (q - 16)·d
    case "Q5_1": { // d f16, m f16, qh u32, qs[16]: x = q·d + m
      const withMin = t.type === "Q5_1";
      const size = withMin ? 24 : 22;
      for (let blk = 0, o = 0; o < n; blk += size, o += 32) {
        const d = half(b, blk);
        const m = withMin ? half(b, blk + 2) : 0;
        const h = blk + (withMin ? 4 : 2);
        const qh = (b[h]! | (b[h + 1]! << 8) | (b[h + 2]! << 16) | (b[h + 3]! << 24)) >>> 0;
        for (let j = 0; j < 16; j++) {
          const q = b[h + 4 + j]!;
          const q0 = (q & 15) | (((qh >>> j) & 1) << 4);
          const q1 = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          y[o + j] = withMin ? f32(f32(q0 * d) + m) : f32((q0 - 16) * d);
          y[o + j + 16] = withMin ? f32(f32(q1 * d) + m) : f32((q1 - 16) * d);
        }
      }
      return y;
    }
    case "Q8_0": // d f16, qs int8[32]: x = q·d
      for (let blk = 0, o = 0; o < n; blk += 34, o += 32) {
        const d = half(b, blk);
        for (let j = 0; j < 32; j++) y[o + j] = f32(((b[blk + 2 + j]! << 24) >> 24) * d);
      }
      return y;
    case "Q4_K": // d, dmin f16, scales[12] (8 pairs of 6-bit scale/min), qs[128]
    case "Q5_K": { // as Q4_K, plus qh[32]: the fifth bit of each value
      const five = t.type === "Q5_K";
      const size = five ? 176 : 144;
      for (let blk = 0, o = 0; o < n; blk += size, o += 256) {
        const d = half(b, blk);
        const dmin = half(b, blk + 2);
        const sc = blk + 4;
        const qh = blk + 16;
        const qs = blk + (five ? 48 : 16);
        for (let j = 0; j < 8; j++) {
          const [s, m] = scaleMinK4(b, sc, j);
          const dj = f32(d * s);
          const mj = f32(dmin * m);
          // sub-block j: 32 values from the low (even j) or high (odd j) nibbles of qs[32·⌊j/2⌋ ..]
          const q = qs + 32 * (j >> 1);
          for (let l = 0; l < 32; l++) {
            let v = j & 1 ? b[q + l]! >> 4 : b[q + l]! & 15;
            if (five && b[qh + l]! & (1 << j)) v += 16;
            y[o + 32 * j + l] = f32(f32(dj * v) - mj);
          }
        }
      }
      return y;
    }
    case "Q6_K": // ql[128] low nibbles, qh[64] high 2 bits, scales int8[16], d f16: x = d·scale·(q - 32)
      for (let blk = 0, o = 0; o < n; blk += 210, o += 256) {
        const d = half(b, blk + 208);
        for (let half128 = 0; half128 < 2; half128++) {
          const ql = blk + 64 * half128;
          const qh = blk + 128 + 32 * half128;
          const sc = blk + 192 + 8 * half128;
          const out = o + 128 * half128;
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const h = b[qh + l]!;
            const q = [
              ((b[ql + l]! & 15) | ((h & 3) << 4)) - 32,
              ((b[ql + l + 32]! & 15) | (((h >> 2) & 3) << 4)) - 32,
              ((b[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32,
              ((b[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32,
            ];
            for (let k = 0; k < 4; k++) {
              const s = (b[sc + is + 2 * k]! << 24) >> 24;
              y[out + l + 32 * k] = f32(f32(d * s) * q[k]!);
            }
          }
        }
      }
      return y;
    default:
      throw new GgufError(`tensor ${t.name}: type ${t.type} is not supported (supported: ${DEQUANTIZABLE.join(", ")})`);
  }
}

/** The j-th 6-bit (scale, min) pair of a K-quant's 12 packed scale bytes (ggml's get_scale_min_k4). */
function scaleMinK4(b: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [b[at + j]! & 63, b[at + j + 4]! & 63];
  return [(b[at + j + 4]! & 15) | ((b[at + j - 4]! >> 6) << 4), (b[at + j + 4]! >> 4) | ((b[at + j]! >> 6) << 4)];
}
