import { describe, expect, it } from "vitest";
import { LoraEdgeError } from "../errors.ts";
import { encodeFloats, f16BitsToF32Bits, f32ToBf16Bits, f32ToF16Bits, parseSafetensors, serializeSafetensors, toFloat32 } from "./safetensors.ts";

/** Hand-built file: `header` is written verbatim after its u64 length, then `data`. */
function rawFile(header: string | object, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function expectInvalid(bytes: Uint8Array, message: RegExp) {
  try {
    parseSafetensors(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(LoraEdgeError);
    const err = e as LoraEdgeError;
    expect(err.status).toBe(400);
    expect(err.code).toBe("invalid_safetensors");
    expect(err.message).toMatch(message);
    return;
  }
  throw new Error("expected parseSafetensors to throw");
}

const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

describe("parseSafetensors", () => {
  it("reads what serializeSafetensors writes, with metadata, views into the input and aligned data", () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = encodeFloats([0.5, -1.5, 3], "BF16");
    const c = encodeFloats([0.25, 65504], "F16");
    const bytes = serializeSafetensors({ a: { dtype: "F32", shape: [2, 3], data: a }, b: { dtype: "BF16", shape: [3], data: b }, c: { dtype: "F16", shape: [1, 2], data: c } }, { format: "pt" });
    const t = parseSafetensors(bytes);
    expect(t.metadata).toEqual({ format: "pt" });
    expect([...t.keys()].sort()).toEqual(["a", "b", "c"]);
    expect(t.get("a")!.shape).toEqual([2, 3]);
    expect(Array.from(toFloat32(t.get("a")!))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(toFloat32(t.get("b")!))).toEqual([0.5, -1.5, 3]);
    expect(Array.from(toFloat32(t.get("c")!))).toEqual([0.25, 65504]);
    expect(t.get("a")!.data.buffer).toBe(bytes.buffer);
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
  });

  it("accepts an empty file body, zero-sized tensors and a null __metadata__", () => {
    expect(parseSafetensors(rawFile({})).size).toBe(0);
    const t = parseSafetensors(rawFile({ __metadata__: null, e: { dtype: "F32", shape: [0, 4], data_offsets: [0, 0] }, x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32([7])));
    expect(t.get("e")!.data.byteLength).toBe(0);
    expect(toFloat32(t.get("x")!)[0]).toBe(7);
  });

  it("accepts trailing spaces after the JSON header", () => {
    const t = parseSafetensors(rawFile(JSON.stringify({ x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }) + "      ", f32([3])));
    expect(toFloat32(t.get("x")!)[0]).toBe(3);
  });

  it("reads F32 data at an unaligned offset", () => {
    const bytes = rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32([1.5, -2])); // header length 57: unaligned
    expect(Array.from(toFloat32(parseSafetensors(bytes).get("x")!))).toEqual([1.5, -2]);
  });

  it("refuses a file shorter than 8 bytes", () => {
    expectInvalid(new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/);
  });

  it("refuses a header length beyond the file (truncated)", () => {
    expectInvalid(rawFile({}, new Uint8Array(0), 1000n), /header length 1000 exceeds the 2 bytes after the length field/);
  });

  it("refuses a header length above 100 MB", () => {
    expectInvalid(rawFile({}, new Uint8Array(0), 2n ** 40n), /exceeds the 100000000-byte limit/);
  });

  it("refuses a non-JSON header, a non-object header and invalid UTF-8", () => {
    expectInvalid(rawFile("{not json}"), /not valid JSON/);
    expectInvalid(rawFile("[1, 2, 3]"), /does not start with '\{'/);
    const bad = rawFile("{\"\xff\": 1}");
    bad[10] = 0xff;
    expectInvalid(bad, /UTF-8|JSON/);
  });

  it("refuses an unknown dtype", () => {
    expectInvalid(rawFile({ x: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), /tensor "x": unknown dtype "F128"/);
  });

  it("refuses negative or non-integer shapes", () => {
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32([1])), /shape \[-1\] is not a list of non-negative integers/);
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [1.5], data_offsets: [0, 4] } }, f32([1])), /not a list of non-negative integers/);
  });

  it("refuses offsets out of bounds", () => {
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32([1])), /data_offsets \[0, 8\] out of bounds of the 4-byte data region/);
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, f32([1])), /end before they begin/);
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [1], data_offsets: [0] } }, f32([1])), /is not \[begin, end\]/);
  });

  it("refuses a byte count that does not match shape × itemsize", () => {
    expectInvalid(rawFile({ x: { dtype: "F16", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /shape \[3\] of F16 needs 6 bytes but data_offsets \[0, 8\] hold 8/);
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs .* bytes but/);
  });

  it("refuses overlapping tensors", () => {
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, y: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), /"y" data_offsets \[4, 12\] overlap tensor "x"/);
  });

  it("refuses gaps and uncovered trailing bytes", () => {
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /gap in data region: bytes \[0, 4\)/);
    expectInvalid(rawFile({ x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /data region is 8 bytes but tensors cover only \[0, 4\)/);
  });

  it("refuses a truncated data region", () => {
    const good = serializeSafetensors({ x: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    expectInvalid(good.subarray(0, good.byteLength - 3), /out of bounds/);
  });

  it("refuses a malformed __metadata__", () => {
    expectInvalid(rawFile({ __metadata__: { a: 1 } }), /__metadata__\["a"\] is not a string/);
    expectInvalid(rawFile({ __metadata__: [1] }), /__metadata__ is not a JSON object/);
  });

  it("refuses to read a non-float dtype as floats", () => {
    const t = parseSafetensors(rawFile({ x: { dtype: "I32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))).get("x")!;
    expect(() => toFloat32(t)).toThrow(/dtype I32 is not a float type/);
  });
});

describe("half-precision conversion", () => {
  const asF32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;

  it("decodes every F16 exactly (normals, subnormals, zeros, infinities, NaN)", () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const expected = e === 0x1f ? (m ? NaN : sign * Infinity) : e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
      const got = asF32(f16BitsToF32Bits(h));
      if (!Object.is(got, expected)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it("round-trips every finite F16 through f32ToF16Bits and rounds to nearest even", () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) !== 0x1f && f32ToF16Bits(asF32(f16BitsToF32Bits(h))) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (1.0)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (upwards)
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds past max → Inf
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half of the smallest subnormal: tie → 0
    expect(f32ToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it("decodes F16 and BF16 tensors including subnormals, Inf and NaN", () => {
    const vals = [0, -0, 1, -2, 2 ** -24, 3 * 2 ** -20, 65504, Infinity, -Infinity];
    const h = toFloat32({ dtype: "F16", shape: [vals.length + 1], data: encodeFloats([...vals, NaN], "F16") });
    expect(Array.from(h.subarray(0, vals.length))).toEqual(vals);
    expect(h[vals.length]).toBeNaN();
    const bvals = [0, 1, -2, 2 ** -130, 3.140625, Infinity, -Infinity, 1e38];
    const b = toFloat32({ dtype: "BF16", shape: [bvals.length + 1], data: encodeFloats([...bvals, NaN], "BF16") });
    expect(Array.from(b.subarray(0, 7))).toEqual(bvals.slice(0, 7));
    expect(Math.abs(b[7]! - 1e38) / 1e38).toBeLessThan(2 ** -8); // bf16: 7 explicit mantissa bits
    expect(b[8]).toBeNaN();
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});
