/**
 * A reader for GGUF files (llama.cpp's model format, versions 2 and 3): header, metadata key/values
 * of every type (arrays included), tensor infos, and the data section at `general.alignment`.
 *
 * It reads from one byte array and copies nothing: a tensor's bytes are a view into the file, and
 * `dequantizeGguf` (gguf-quants.ts) turns them into float32. It does not write GGUF.
 *
 * @example
 * const gguf = readGguf(new Uint8Array(readFileSync("model.gguf")));
 * gguf.metadata.get("llama.block_count"); // 30
 * const t = gguf.tensors.get("blk.0.attn_q.weight")!; // { type: "Q4_1", dims: [576, 576], data }
 */

/** A metadata value: numbers (64-bit integers as bigint), booleans, strings, or arrays of them. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** One tensor: `dims` innermost first, as GGUF stores them (`[ne0, ne1]` is `ne1` rows of `ne0`). */
export type GgufTensor = { name: string; type: string; dims: number[]; data: Uint8Array };

export type Gguf = { version: number; metadata: Map<string, GgufValue>; tensors: Map<string, GgufTensor>; alignment: number };

/**
 * ggml's tensor types by id (ggml.h `enum ggml_type`; ids 4, 5 and 31–33 were removed upstream), with
 * the bytes and values of one block, so the reader can size every tensor, even one it cannot dequantize.
 */
export const GGML_TYPES: Record<number, { name: string; blockBytes: number; blockValues: number }> = {
  0: { name: "F32", blockBytes: 4, blockValues: 1 },
  1: { name: "F16", blockBytes: 2, blockValues: 1 },
  2: { name: "Q4_0", blockBytes: 18, blockValues: 32 },
  3: { name: "Q4_1", blockBytes: 20, blockValues: 32 },
  6: { name: "Q5_0", blockBytes: 22, blockValues: 32 },
  7: { name: "Q5_1", blockBytes: 24, blockValues: 32 },
  8: { name: "Q8_0", blockBytes: 34, blockValues: 32 },
  9: { name: "Q8_1", blockBytes: 40, blockValues: 32 },
  10: { name: "Q2_K", blockBytes: 84, blockValues: 256 },
  11: { name: "Q3_K", blockBytes: 110, blockValues: 256 },
  12: { name: "Q4_K", blockBytes: 144, blockValues: 256 },
  13: { name: "Q5_K", blockBytes: 176, blockValues: 256 },
  14: { name: "Q6_K", blockBytes: 210, blockValues: 256 },
  15: { name: "Q8_K", blockBytes: 292, blockValues: 256 },
  16: { name: "IQ2_XXS", blockBytes: 66, blockValues: 256 },
  17: { name: "IQ2_XS", blockBytes: 74, blockValues: 256 },
  18: { name: "IQ3_XXS", blockBytes: 98, blockValues: 256 },
  19: { name: "IQ1_S", blockBytes: 50, blockValues: 256 },
  20: { name: "IQ4_NL", blockBytes: 18, blockValues: 32 },
  21: { name: "IQ3_S", blockBytes: 110, blockValues: 256 },
  22: { name: "IQ2_S", blockBytes: 82, blockValues: 256 },
  23: { name: "IQ4_XS", blockBytes: 136, blockValues: 256 },
  24: { name: "I8", blockBytes: 1, blockValues: 1 },
  25: { name: "I16", blockBytes: 2, blockValues: 1 },
  26: { name: "I32", blockBytes: 4, blockValues: 1 },
  27: { name: "I64", blockBytes: 8, blockValues: 1 },
  28: { name: "F64", blockBytes: 8, blockValues: 1 },
  29: { name: "IQ1_M", blockBytes: 56, blockValues: 256 },
  30: { name: "BF16", blockBytes: 2, blockValues: 1 },
  34: { name: "TQ1_0", blockBytes: 54, blockValues: 256 },
  35: { name: "TQ2_0", blockBytes: 66, blockValues: 256 },
  39: { name: "MXFP4", blockBytes: 17, blockValues: 32 },
  40: { name: "NVFP4", blockBytes: 36, blockValues: 64 },
  41: { name: "Q1_0", blockBytes: 18, blockValues: 128 },
};

const MAGIC = 0x46554747; // "GGUF" little-endian
const DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf.h `enum gguf_type`). */
const enum T {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

/** Thrown for anything that is not a well-formed GGUF file this reader supports. */
export class GgufError extends Error {
  override name = "GgufError";
}

/**
 * Parse a GGUF file held in memory. Checks the magic, the version, every length against the file's
 * size and every tensor's bytes against the data section; refuses tensor types it cannot size.
 */
export function readGguf(bytes: Uint8Array): Gguf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > bytes.byteLength) throw new GgufError(`truncated file: ${what} at byte ${at} needs ${n} bytes, file has ${bytes.byteLength}`);
  };
  const u32 = () => (need(4, "u32"), (at += 4), view.getUint32(at - 4, true));
  const u64 = (what: string) => {
    need(8, what);
    const v = view.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${what} ${v} is too large`);
    return Number(v);
  };
  const str = () => {
    const n = u64("string length");
    need(n, "string");
    const s = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const scalar = (type: number): GgufValue => {
    switch (type) {
      case T.U8: return need(1, "u8"), view.getUint8(at++);
      case T.I8: return need(1, "i8"), view.getInt8(at++);
      case T.U16: return need(2, "u16"), (at += 2), view.getUint16(at - 2, true);
      case T.I16: return need(2, "i16"), (at += 2), view.getInt16(at - 2, true);
      case T.U32: return u32();
      case T.I32: return need(4, "i32"), (at += 4), view.getInt32(at - 4, true);
      case T.F32: return need(4, "f32"), (at += 4), view.getFloat32(at - 4, true);
      case T.BOOL: {
        need(1, "bool");
        const b = view.getUint8(at++);
        if (b > 1) throw new GgufError(`bool value ${b} at byte ${at - 1}`);
        return b === 1;
      }
      case T.STRING: return str();
      case T.U64: return need(8, "u64"), (at += 8), view.getBigUint64(at - 8, true);
      case T.I64: return need(8, "i64"), (at += 8), view.getBigInt64(at - 8, true);
      case T.F64: return need(8, "f64"), (at += 8), view.getFloat64(at - 8, true);
      default: throw new GgufError(`unknown metadata value type ${type} at byte ${at}`);
    }
  };
  const value = (type: number): GgufValue => {
    if (type !== T.ARRAY) return scalar(type);
    const elem = u32();
    const n = u64("array length");
    // each element takes at least one byte: a cheap bound before allocating
    need(Math.min(n, bytes.byteLength), "array");
    const out: GgufValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = value(elem);
    return out;
  };

  if (u32() !== MAGIC) throw new GgufError("not a GGUF file (bad magic)");
  const version = u32();
  if (version !== 2 && version !== 3) throw new GgufError(`GGUF version ${version} is not supported (2 and 3 are)`);
  const tensorCount = u64("tensor count");
  const kvCount = u64("metadata count");

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    if (metadata.has(key)) throw new GgufError(`duplicate metadata key ${key}`);
    metadata.set(key, value(u32()));
  }
  const alignment = metadata.get("general.alignment") ?? DEFAULT_ALIGNMENT;
  if (typeof alignment !== "number" || !Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new GgufError(`general.alignment must be a positive multiple of 8, got ${String(alignment)}`);
  }

  const infos: { name: string; type: string; dims: number[]; offset: number; bytes: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    if (nDims > 4) throw new GgufError(`tensor ${name}: ${nDims} dimensions (at most 4)`);
    const dims = Array.from({ length: nDims }, () => u64(`tensor ${name} dimension`));
    const typeId = u32();
    const offset = u64(`tensor ${name} offset`);
    const type = GGML_TYPES[typeId];
    if (!type) throw new GgufError(`tensor ${name}: unknown ggml type ${typeId}`);
    const numel = dims.reduce((a, b) => a * b, 1);
    if (dims[0]! % type.blockValues !== 0) throw new GgufError(`tensor ${name}: row of ${dims[0]} values is not whole ${type.name} blocks of ${type.blockValues}`);
    if (offset % alignment !== 0) throw new GgufError(`tensor ${name}: offset ${offset} is not aligned to ${alignment}`);
    infos.push({ name, type: type.name, dims, offset, bytes: (numel / type.blockValues) * type.blockBytes });
  }
  const dataStart = Math.ceil(at / alignment) * alignment;
  const tensors = new Map<string, GgufTensor>();
  for (const t of infos) {
    const start = dataStart + t.offset;
    if (start + t.bytes > bytes.byteLength) throw new GgufError(`tensor ${t.name}: bytes ${start}..${start + t.bytes} lie beyond the end of the file (${bytes.byteLength})`);
    if (tensors.has(t.name)) throw new GgufError(`duplicate tensor ${t.name}`);
    tensors.set(t.name, { name: t.name, type: t.type, dims: t.dims, data: bytes.subarray(start, start + t.bytes) });
  }
  return { version, metadata, tensors, alignment };
}
