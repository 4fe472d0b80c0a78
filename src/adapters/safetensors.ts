/**
 * The safetensors format (https://github.com/huggingface/safetensors): read strictly, write simply.
 *
 * Layout: `u64 LE header length N` · `N bytes of JSON` (may end in spaces) · data region. The JSON
 * maps tensor names to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data
 * region) plus an optional `__metadata__` string map. Everything is checked before any tensor byte is
 * touched: header length, JSON, dtypes, shapes, offsets in bounds, byte counts, no overlaps and no
 * gaps (the format requires the tensors to cover the data region contiguously).
 */
import { LoraEdgeError } from "../errors.ts";

/** Bytes per element of every dtype the format defines (sub-byte float types are not supported). */
export const DTYPE_SIZES = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8, C64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_SIZES;

/** The float dtypes lora-edge reads weights from. */
export const FLOAT_DTYPES = ["F32", "F16", "BF16"] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

/** One tensor: `data` is a view into the parsed file's bytes (no copy), little-endian, row-major. */
export type Tensor = { dtype: Dtype; shape: number[]; data: Uint8Array };

/** Tensors by name, in file order, plus the file's `__metadata__` (empty when absent). */
export type TensorMap = Map<string, Tensor> & { metadata: Record<string, string> };

/** Largest header the reference implementation accepts. */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function invalid(message: string): LoraEdgeError {
  return new LoraEdgeError(400, "invalid_safetensors", message, { param: "safetensors" });
}

/**
 * Parse safetensors bytes, validating the whole header first. Tensor `data` are views into `bytes`.
 * Throws `LoraEdgeError(400, "invalid_safetensors", …)` naming what is wrong.
 *
 * @example
 * const t = parseSafetensors(bytes).get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
 * // t = { dtype: "BF16", shape: [16, 1024], data: Uint8Array(32768) }
 */
export function parseSafetensors(bytes: Uint8Array): TensorMap {
  if (bytes.byteLength < 8) throw invalid(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > MAX_HEADER_BYTES) throw invalid(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLen > bytes.byteLength - 8) {
    throw invalid(`header length ${headerLen} exceeds the ${bytes.byteLength - 8} bytes after the length field (truncated file?)`);
  }
  if (headerLen < 2) throw invalid(`header length ${headerLen} is too short for a JSON object`);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    throw invalid("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) throw invalid("header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw invalid(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) throw invalid("header is not a JSON object");

  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata = parseMetadata(header["__metadata__"]);

  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    entries.push({ name, ...parseEntry(name, raw, dataLen) });
  }

  // Contiguity: sorted by offsets, each tensor starts where the previous ended, the last ends at EOF.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = "";
  for (const e of sorted) {
    if (e.begin < cursor) throw invalid(`tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev}" (ends at ${cursor})`);
    if (e.begin > cursor) throw invalid(`gap in data region: bytes [${cursor}, ${e.begin}) before tensor "${e.name}" belong to no tensor`);
    cursor = e.end;
    prev = e.name;
  }
  if (cursor !== dataLen) throw invalid(`data region is ${dataLen} bytes but tensors cover only [0, ${cursor})`);

  const out = new Map<string, Tensor>() as TensorMap;
  out.metadata = metadata;
  for (const e of entries) {
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw invalid("__metadata__ is not a JSON object");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") throw invalid(`__metadata__["${k}"] is not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, raw: unknown, dataLen: number): { dtype: Dtype; shape: number[]; begin: number; end: number } {
  if (!isPlainObject(raw)) throw invalid(`tensor "${name}": entry is not a JSON object`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_SIZES, dtype)) {
    throw invalid(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw invalid(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not [begin, end] of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw invalid(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLen) throw invalid(`tensor "${name}": data_offsets [${begin}, ${end}] out of bounds of the ${dataLen}-byte data region`);
  const itemsize = DTYPE_SIZES[dtype as Dtype];
  // numel may overflow for hostile shapes: stop as soon as it exceeds what the region could hold.
  let numel = shape.includes(0) ? 0 : 1;
  for (const d of shape as number[]) {
    if (numel === 0) break;
    numel *= d;
    if (numel * itemsize > dataLen) break;
  }
  if (numel * itemsize !== end - begin) {
    throw invalid(`tensor "${name}": shape [${shape.join(", ")}] of ${dtype} needs ${numel * itemsize} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { dtype: dtype as Dtype, shape: shape as number[], begin, end };
}

/** Number of elements of a shape. @example numel([16, 1024]) // 16384 */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Decode a float tensor (F32, F16 or BF16; little-endian) into a fresh Float32Array, exactly:
 * F16 subnormals, infinities and NaNs are preserved; BF16 is the top half of an F32.
 *
 * @example toFloat32({ dtype: "BF16", shape: [2], data: new Uint8Array([0x80, 0x3f, 0x00, 0xc0]) }) // Float32Array [1, -2]
 */
export function toFloat32(t: Tensor): Float32Array {
  const n = numel(t.shape);
  const itemsize = DTYPE_SIZES[t.dtype];
  if (t.data.byteLength !== n * itemsize) throw invalid(`tensor data is ${t.data.byteLength} bytes, expected ${n * itemsize} for ${t.dtype} [${t.shape.join(", ")}]`);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case "F32": {
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(t.data); // aligned copy; the view may be unaligned
      else { const dv = dataView(t.data); for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true); }
      return out;
    }
    case "F16": {
      const h = halfWords(t.data, n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = f16BitsToF32Bits(h[i]!);
      return out;
    }
    case "BF16": {
      const h = halfWords(t.data, n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = h[i]! << 16;
      return out;
    }
    default:
      throw new LoraEdgeError(400, "invalid_safetensors", `dtype ${t.dtype} is not a float type lora-edge reads (F32, F16, BF16)`, { param: "safetensors" });
  }
}

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** 16-bit little-endian words of `b`, as an aligned Uint16Array. */
function halfWords(b: Uint8Array, n: number): Uint16Array {
  if (LITTLE_ENDIAN_HOST) {
    const h = new Uint16Array(n);
    new Uint8Array(h.buffer).set(b);
    return h;
  }
  const dv = dataView(b);
  const h = new Uint16Array(n);
  for (let i = 0; i < n; i++) h[i] = dv.getUint16(2 * i, true);
  return h;
}

/**
 * IEEE binary16 bits → binary32 bits, exact (every half is representable as a float).
 *
 * @example f16BitsToF32Bits(0x3c00) // 0x3f800000 (1.0)
 */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf / NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // subnormal half: normalize the mantissa into an f32 normal
  let e = 113; // 127 - 14
  while ((mant & 0x400) === 0) { mant <<= 1; e--; }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * float → binary16 bits, round to nearest even (overflow → Inf, NaN stays NaN).
 *
 * @example f32ToF16Bits(65504) // 0x7bff; f32ToF16Bits(1e5) // 0x7c00 (Inf)
 */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000; // implicit bit
    const shift = 14 - e; // 24-bit mantissa → 10-bit subnormal field
    const half = 1 << (shift - 1);
    const rem = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) r++; // may carry into the exponent: still correct
  return sign | r;
}

/**
 * float → bfloat16 bits, round to nearest even (NaN stays NaN).
 *
 * @example f32ToBf16Bits(-2) // 0xc000
 */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  const r = b + 0x7fff + ((b >>> 16) & 1);
  return (r >>> 16) & 0xffff;
}

/**
 * Encode floats as little-endian F32, F16 or BF16 bytes (round to nearest even).
 *
 * @example encodeFloats(new Float32Array([1, -2]), "BF16") // Uint8Array [0x80, 0x3f, 0x00, 0xc0]
 */
export function encodeFloats(values: ArrayLike<number>, dtype: FloatDtype): Uint8Array {
  const n = values.length;
  if (dtype === "F32") {
    const f = Float32Array.from(values);
    return new Uint8Array(f.buffer);
  }
  const out = new Uint8Array(2 * n);
  const dv = dataView(out);
  const enc = dtype === "F16" ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < n; i++) dv.setUint16(2 * i, enc(values[i]!), true);
  return out;
}

/** A tensor to write: `data` is any typed array whose bytes are the little-endian elements. */
export type TensorInput = { dtype: Dtype; shape: readonly number[]; data: ArrayBufferView };

/**
 * Write safetensors bytes. Tensors are laid out largest itemsize first, then by name (as the Python
 * library does), and the header is padded with spaces to a multiple of 8 so every tensor is aligned.
 *
 * @example serializeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } }, { format: "pt" })
 */
export function serializeSafetensors(tensors: Record<string, TensorInput> | Map<string, TensorInput>, metadata?: Record<string, string>): Uint8Array {
  const list = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  list.sort(([na, a], [nb, b]) => DTYPE_SIZES[b.dtype] - DTYPE_SIZES[a.dtype] || (na < nb ? -1 : na > nb ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "__metadata__") throw invalid(`"__metadata__" is reserved and cannot name a tensor`);
    const bytes = numel(t.shape) * DTYPE_SIZES[t.dtype];
    if (t.data.byteLength !== bytes) throw invalid(`tensor "${name}": ${t.dtype} [${t.shape.join(", ")}] needs ${bytes} bytes, got ${t.data.byteLength}`);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const dv = dataView(out);
  dv.setUint32(0, headerLen % 2 ** 32, true);
  dv.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let at = 8 + headerLen;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
