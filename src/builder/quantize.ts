/**
 * Weight quantization for the graph's linear layers, in the layouts ORT's kernels read.
 *
 * - int8: symmetric, one scale per output column, for `com.microsoft.DynamicQuantizeMatMul`
 *   (activations are quantized per tensor at run time; FACTS.md: 1 byte/weight at ~0.85× fp32 speed).
 * - int8 in blocks (`quantizeInt8Blocks`): 8 bits, one scale per 32 weights of a column, for
 *   `com.microsoft.MatMulNBits` with accuracy_level 4 (the kernel quantizes activations per block too).
 * - int4: `com.microsoft.MatMulNBits` (4 bits, blocks of `blockSize` along the input dimension,
 *   asymmetric with a zero point; saves memory, slow in the WASM build).
 *
 * Each quantizer has a dequantizer so tests and DoRA preparation see exactly the served weights.
 */

/** `w` is `[K, N]` row-major (graph layout: `y = x · w`). */
export type Int8Weight = { q: Int8Array /* [K, N] */; scale: Float32Array /* [N] */; K: number; N: number };

/**
 * int8 values stored as uint8 with zero point 128 (`v + 128`, the same numbers): how the graph
 * carries int8 weights into onnxruntime's integer matmuls. Its uint8 × int8 kernel on x86 CPUs
 * without VNNI (AVX2 only: many AMD EPYC and Ryzen, older Intel) adds pairs of products in 16
 * bits and saturates (onnxruntime issue #6004; measured here: 0.19 relative error on a 576 × 1,536
 * product), while uint8 × uint8 takes an exact kernel there; in WASM it is as fast or faster.
 *
 * @example offsetToUint8(Int8Array.of(-127, 0, 127)) // → Uint8Array [1, 128, 255]
 */
export function offsetToUint8(q: Int8Array): Uint8Array {
  return flipSignBits(new Uint8Array(q.buffer, q.byteOffset, q.length));
}

/** The inverse of `offsetToUint8`. */
export function offsetFromUint8(u: Uint8Array): Int8Array {
  const flipped = flipSignBits(u);
  return new Int8Array(flipped.buffer, 0, flipped.length);
}

/**
 * A copy of `bytes` with each byte's top bit flipped: v + 128 of a two's-complement int8 is its
 * byte XOR 0x80, and back. A plain loop: `TypedArray.from(q, fn)` walks an iterator and calls `fn`
 * per element, ~100× slower on SmolLM2's 100 M weights.
 */
function flipSignBits(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! ^ 0x80;
  return out;
}

/**
 * @example const { q, scale } = quantizeInt8(w, 512, 768); // w ≈ q[k, n] * scale[n]
 */
export function quantizeInt8(w: Float32Array, K: number, N: number): Int8Weight {
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) scale[n] = Math.max(scale[n]!, Math.abs(w[k * N + n]!));
  for (let n = 0; n < N; n++) scale[n] = scale[n]! > 0 ? scale[n]! / 127 : 1;
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) q[k * N + n] = Math.max(-127, Math.min(127, Math.round(w[k * N + n]! / scale[n]!)));
  }
  return { q, scale, K, N };
}

/** Symmetric int8 with one scale per row of `[R, C]` (the embedding table: rows are gathered). */
export function quantizeRowsInt8(w: Float32Array, R: number, C: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(R * C);
  const scale = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    let max = 0;
    for (let c = 0; c < C; c++) max = Math.max(max, Math.abs(w[r * C + c]!));
    const s = max > 0 ? max / 127 : 1;
    scale[r] = s;
    for (let c = 0; c < C; c++) q[r * C + c] = Math.round(w[r * C + c]! / s);
  }
  return { q, scale };
}

export function dequantizeInt8({ q, scale, K, N }: Int8Weight): Float32Array {
  const w = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) w[k * N + n] = q[k * N + n]! * scale[n]!;
  return w;
}

/**
 * MatMulNBits layout: `packed` `[N, blocks, blockSize·bits/8]` (4 bits: two values per byte, low
 * nibble first), `scales` `[N · blocks]`, zero points either packed like the values
 * (`Uint8Array`, 4 bits: `[N · ceil(blocks/2)]`), as floats `[N · blocks]` (the weight is then
 * `(q - zero) · scale` with a fractional zero; onnxruntime has no fast kernel for it), or absent (the
 * op's default, 2^(bits-1); a GGUF's Q4_1 minimum then travels as `offsets`).
 */
export type Int4Weight = {
  packed: Uint8Array;
  scales: Float32Array;
  zeros?: Uint8Array | Float32Array;
  /**
   * Added after dequantizing, per (column, block) `[N · blocks]`: `w = (q - zero)·scale + offset`.
   * How a Q4_1 block `q·d + m` keeps the op's default zero point 8 (`(q - 8)·d + (m + 8d)`), the
   * layout onnxruntime's fast kernels take; the graph adds `blockSums(x) · offsets`.
   */
  offsets?: Float32Array;
  /**
   * 2: `packed`/`scales` hold twice the blocks of K, the input is fed twice (`[x, x]`) and the two
   * halves add up: an 8-bit block split into its high and low nibbles (`splitNibbles`).
   */
  repeats?: 2;
  K: number;
  N: number;
  blockSize: number;
  bits?: 4 | 8;
};

/**
 * 8-bit blocks with the default zero point (`(u - 128)·d`) as two 4-bit halves with the default zero
 * point 8, exactly: with `u = 16·hi + lo`, `(u - 128)·d = (hi - 8)·16d + (lo - 8)·d + 8d`. The
 * halves stack along the input (`repeats: 2`: high nibbles first) and `8d` becomes the offset.
 * onnxruntime-node has a fast fp32-compute kernel for 4-bit blocks and none for 8-bit ones
 * (`GraphOptions.splitEightBit`).
 *
 * @example const head = splitNibbles(carryBlocks(q8Tensor)!); // the same weights, the 4-bit kernel
 */
export function splitNibbles(w: Int4Weight): Int4Weight {
  if (w.bits !== 8 || w.zeros || w.offsets || w.repeats) throw new Error("splitNibbles takes 8-bit blocks with the default zero point");
  const blocks = Math.ceil(w.K / w.blockSize);
  const half = w.blockSize / 2;
  const packed = new Uint8Array(w.N * 2 * blocks * half);
  const scales = new Float32Array(w.N * 2 * blocks);
  const offsets = new Float32Array(w.N * blocks);
  for (let n = 0; n < w.N; n++) {
    for (let b = 0; b < blocks; b++) {
      const d = w.scales[n * blocks + b]!;
      const [hiAt, loAt] = [(n * 2 * blocks + b) * half, (n * 2 * blocks + blocks + b) * half];
      for (let e = 0; e < half; e++) {
        const [u0, u1] = [w.packed[(n * blocks + b) * w.blockSize + 2 * e]!, w.packed[(n * blocks + b) * w.blockSize + 2 * e + 1]!];
        packed[hiAt + e] = (u0 >> 4) | ((u1 >> 4) << 4);
        packed[loAt + e] = (u0 & 15) | ((u1 & 15) << 4);
      }
      scales[n * 2 * blocks + b] = 16 * d;
      scales[n * 2 * blocks + blocks + b] = d;
      offsets[n * blocks + b] = 8 * d;
    }
  }
  return { packed, scales, offsets, repeats: 2, K: w.K, N: w.N, blockSize: w.blockSize, bits: 4 };
}

/**
 * Quantize `[K, N]` to 4 bits per weight with per-(column, block) scale and zero point.
 *
 * @example const w4 = quantizeInt4(w, 512, 768, 32);
 */
export function quantizeInt4(w: Float32Array, K: number, N: number, blockSize = 32): Int4Weight {
  const blocks = Math.ceil(K / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  const zerosPerCol = Math.ceil(blocks / 2);
  const zeros = new Uint8Array(N * zerosPerCol);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = b * blockSize; k < Math.min(K, (b + 1) * blockSize); k++) {
        const v = w[k * N + n]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      lo = Math.min(lo, 0);
      hi = Math.max(hi, 0);
      const scale = hi > lo ? (hi - lo) / 15 : 1;
      const zero = Math.max(0, Math.min(15, Math.round(-lo / scale)));
      scales[n * blocks + b] = scale;
      const zi = n * zerosPerCol + (b >> 1);
      zeros[zi] = b & 1 ? zeros[zi]! | (zero << 4) : zero;
      for (let i = 0; i < blockSize; i++) {
        const k = b * blockSize + i;
        const v = k < K ? Math.max(0, Math.min(15, Math.round(w[k * N + n]! / scale) + zero)) : zero;
        const at = (n * blocks + b) * blob + (i >> 1);
        packed[at] = i & 1 ? packed[at]! | (v << 4) : v;
      }
    }
  }
  return { packed, scales, zeros, K, N, blockSize };
}

/**
 * Symmetric 8 bits per weight in blocks of `blockSize` along the input, one scale per (column,
 * block), stored in MatMulNBits' layout with its default zero point 128: `w ≈ (q - 128) · scale`.
 * A block's scale follows its own largest weight, so a block of small weights keeps its precision.
 *
 * @example const w8 = quantizeInt8Blocks(w, 576, 1536, 32);
 */
export function quantizeInt8Blocks(w: Float32Array, K: number, N: number, blockSize = 32): Int4Weight {
  const blocks = Math.ceil(K / blockSize);
  const packed = new Uint8Array(N * blocks * blockSize).fill(128);
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const k1 = Math.min(K, (b + 1) * blockSize);
      let max = 0;
      for (let k = b * blockSize; k < k1; k++) max = Math.max(max, Math.abs(w[k * N + n]!));
      const scale = max > 0 ? max / 127 : 1;
      scales[n * blocks + b] = scale;
      for (let k = b * blockSize; k < k1; k++) packed[(n * blocks + b) * blockSize + (k - b * blockSize)] = 128 + Math.round(w[k * N + n]! / scale);
    }
  }
  return { packed, scales, K, N, blockSize, bits: 8 };
}

export function dequantizeInt4({ packed, scales, zeros, offsets, repeats, K, N, blockSize, bits = 4 }: Int4Weight): Float32Array {
  if (repeats === 2) {
    // the halves are one weight of input 2K: dequantize it, then add its two row halves (and the offsets)
    const w2 = dequantizeInt4({ packed, scales, ...(zeros ? { zeros } : {}), K: 2 * K, N, blockSize, bits });
    const w = w2.slice(0, K * N);
    for (let i = 0; i < K * N; i++) w[i]! += w2[K * N + i]!;
    return offsets ? addOffsets(w, offsets, K, N, blockSize) : w;
  }
  const blocks = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  const zerosPerCol = Math.ceil(blocks / 2);
  const w = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const i = k % blockSize;
      const at = (n * blocks + b) * blob;
      const v = bits === 8 ? packed[at + i]! : i & 1 ? packed[at + (i >> 1)]! >> 4 : packed[at + (i >> 1)]! & 15;
      let zero: number;
      if (zeros instanceof Float32Array) zero = zeros[n * blocks + b]!;
      else if (zeros) zero = b & 1 ? zeros[n * zerosPerCol + (b >> 1)]! >> 4 : zeros[n * zerosPerCol + (b >> 1)]! & 15;
      else zero = 1 << (bits - 1);
      w[k * N + n] = (v - zero) * scales[n * blocks + b]!;
    }
  }
  return offsets ? addOffsets(w, offsets, K, N, blockSize) : w;
}

/** `w[k, n] += offsets[n, block(k)]`, in place. */
function addOffsets(w: Float32Array, offsets: Float32Array, K: number, N: number, blockSize: number): Float32Array {
  const blocks = Math.ceil(K / blockSize);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) w[k * N + n] = w[k * N + n]! + offsets[n * blocks + Math.floor(k / blockSize)]!;
  return w;
}
