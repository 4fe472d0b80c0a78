import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { readGguf, GgufError } from "./gguf.ts";
import { dequantizeGguf, DEQUANTIZABLE } from "./gguf-quants.ts";
import { carryBlocks } from "./gguf-checkpoint.ts";
import { dequantizeInt4, splitNibbles } from "./quantize.ts";

// written by training/make_gguf_fixtures.py with the `gguf` Python package (llama.cpp's own gguf-py)
const dir = new URL("../../test/fixtures/gguf/", import.meta.url);
const file = new Uint8Array(readFileSync(new URL("tiny.gguf", dir)));
const golden = JSON.parse(readFileSync(new URL("golden.json", dir), "utf8")) as {
  alignment: number;
  metadata: Record<string, unknown>;
  tensors: Record<string, { type: string; dims: number[]; values: string }>;
};

const floats = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe("readGguf", () => {
  const gguf = readGguf(file);

  it("reads metadata of every value type, 64-bit integers as bigint and nested arrays as arrays", () => {
    expect(gguf.version).toBe(3);
    expect(gguf.alignment).toBe(golden.alignment);
    for (const [key, want] of Object.entries(golden.metadata)) {
      const got = gguf.metadata.get(key);
      expect(typeof got === "bigint" ? String(got) : got, key).toEqual(want);
    }
    expect(gguf.metadata.get("general.architecture")).toBe("llama");
  });

  it("finds every tensor with its type and dims at the custom alignment", () => {
    expect([...gguf.tensors.keys()].sort()).toEqual(Object.keys(golden.tensors).sort());
    for (const [name, t] of Object.entries(golden.tensors)) {
      const got = gguf.tensors.get(name)!;
      expect(got.type, name).toBe(t.type);
      expect(got.dims, name).toEqual(t.dims);
      expect((got.data.byteOffset - file.byteOffset) % golden.alignment, name).toBe(0);
    }
  });

  it("refuses what is not a GGUF file: bad magic, unsupported version, truncation", () => {
    const bad = file.slice();
    bad[0] = 0;
    expect(() => readGguf(bad)).toThrow(/bad magic/);
    const v1 = file.slice();
    v1[4] = 1;
    expect(() => readGguf(v1)).toThrow(/version 1 is not supported/);
    expect(() => readGguf(file.subarray(0, 200))).toThrow(GgufError);
    expect(() => readGguf(file.subarray(0, file.byteLength - 40))).toThrow(/beyond the end of the file/);
  });
});

describe("dequantizeGguf", () => {
  const gguf = readGguf(file);

  it.each(DEQUANTIZABLE)("%s: random blocks dequantize bit for bit as gguf.quants.dequantize does", (type) => {
    const [name, t] = Object.entries(golden.tensors).find(([, t]) => t.type === type)!;
    const got = dequantizeGguf(gguf.tensors.get(name)!);
    const want = floats(t.values);
    expect(got.length).toBe(want.length);
    let mismatches = 0;
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) mismatches++;
    expect(mismatches).toBe(0);
  });

  it("carries Q4_0, Q4_1 and Q8_0 blocks into MatMulNBits' layout with default zero points, serving gguf-py's values to float32 rounding; Q8_0 also as 4-bit halves", () => {
    const worstError = (got: Float32Array, name: string) => {
      const [K, N] = golden.tensors[name]!.dims as [number, number];
      const want = floats(golden.tensors[name]!.values); // [N, K]; got is [K, N]
      let worst = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) worst = Math.max(worst, Math.abs(got[k * N + n]! - want[n * K + k]!));
      return worst / Math.max(...want.map(Math.abs));
    };
    for (const name of ["t.q4_0", "t.q4_1", "t.q8_0"]) {
      const carried = carryBlocks(gguf.tensors.get(name)!)!;
      expect(carried.bits, name).toBe(name === "t.q8_0" ? 8 : 4);
      expect(carried.zeros, name).toBeUndefined();
      expect(carried.offsets !== undefined, name).toBe(name === "t.q4_1"); // its minimum, as m + 8d
      expect(worstError(dequantizeInt4(carried), name), name).toBeLessThan(1e-6);
    }
    const halves = splitNibbles(carryBlocks(gguf.tensors.get("t.q8_0")!)!);
    expect([halves.bits, halves.repeats]).toEqual([4, 2]);
    expect(worstError(dequantizeInt4(halves), "t.q8_0")).toBeLessThan(1e-6);
    expect(carryBlocks(gguf.tensors.get("t.q5_0")!)).toBeUndefined();
  });

  it("refuses any other type by its name", () => {
    expect(() => dequantizeGguf(gguf.tensors.get("t.q2_k")!)).toThrow(/t\.q2_k: type Q2_K is not supported/);
  });
});
