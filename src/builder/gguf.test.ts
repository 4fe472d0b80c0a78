import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { readGguf, GgufError } from "./gguf.ts";
import { dequantizeGguf, DEQUANTIZABLE } from "./gguf-quants.ts";

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

  it("refuses any other type by its name", () => {
    expect(() => dequantizeGguf(gguf.tensors.get("t.q2_k")!)).toThrow(/t\.q2_k: type Q2_K is not supported/);
  });
});
