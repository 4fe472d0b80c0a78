/**
 * A base's identity for adapters (`baseIdentity`): the fp32 package and the 4-bit package carrying a
 * GGUF's own blocks are one base (lossless builds of one checkpoint: same weights read back, same
 * logits), so an adapter registered on one is accepted by the other; a lossy format, a re-quantized
 * int4, another checkpoint or another architecture is a different base and is refused. The model is
 * the demo architecture quantized to Q4_1/Q8_0 in the test (test/support/q4-model.ts).
 */
import { describe, expect, it } from "vitest";
import { deserializePreparedAdapter } from "../../src/adapters/prepare.ts";
import { LOSSLESS_TOLERANCE, servedWeightError } from "../../src/builder/lossless.ts";
import { readBaseWeight } from "../../src/runtime/base-weights.ts";
import { loadModelPackage, type ModelPackage } from "../../src/runtime/model-package.ts";
import { prepareUpload, type UploadBase } from "../../src/registry/upload.ts";
import { peftFiles } from "../http/support.ts";
import { relL2 } from "../reference/llama64.ts";
import { createEngine } from "../support/backend.ts";
import { q4Checkpoint, q4Package, Q4_ARCH } from "../support/q4-model.ts";

const ckpt = q4Checkpoint();
const load = (files: Record<string, Uint8Array>) => loadModelPackage(async (p) => files[p]!);
const built = {
  fp32: q4Package(ckpt, "fp32"),
  int4: q4Package(ckpt, "int4"),
  requantized: q4Package(ckpt, "int4-requantized"),
  int8: q4Package(ckpt, "int8"),
};

function uploadBase(pkg: ModelPackage): UploadBase {
  return { manifest: pkg.manifest, baseId: pkg.baseId, baseWeights: async () => (l, p) => readBaseWeight(pkg.manifest, pkg.weights, l, p) };
}

describe("lossless packages", () => {
  it("fp32 and the carried 4-bit blocks serve the checkpoint's weights (read back within 1e-5 of their range); re-quantized int4 and int8 do not", () => {
    const err = (k: keyof typeof built) => servedWeightError({ manifest: built[k].manifest, weights: built[k].files["model.weights"]! }, ckpt.weights);
    expect(err("fp32")).toBe(0);
    expect(err("int4")).toBeLessThanOrEqual(LOSSLESS_TOLERANCE);
    expect(err("requantized")).toBeGreaterThan(1e-3);
    expect(err("int8")).toBe(Infinity);
    expect([built.fp32, built.int4, built.requantized, built.int8].map((b) => b.manifest.quantization.lossless ?? false)).toEqual([true, true, false, false]);
  });

  it("the fp32 and carried 4-bit packages give the same logits on WASM (rel L2 ≤ 1e-5); the re-quantized one does not", async () => {
    const ids = [1, 17, 400, 23, 1999, 512, 88, 7];
    const logits = async (files: Record<string, Uint8Array>) => {
      const seq = (await createEngine(await load(files))).sequence();
      try {
        return Array.from(await seq.step(ids, ids.length));
      } finally {
        seq.release();
      }
    };
    const [fp32, int4, requantized] = [await logits(built.fp32.files), await logits(built.int4.files), await logits(built.requantized.files)];
    console.log(`carried int4 vs fp32: rel L2 ${relL2(int4, fp32).toExponential(2)}; re-quantized: ${relL2(requantized, fp32).toExponential(2)}`);
    expect(relL2(int4, fp32)).toBeLessThanOrEqual(1e-5);
    expect(relL2(requantized, fp32)).toBeGreaterThan(1e-3);
  });
});

describe("base identity", () => {
  it("is one for the fp32 and carried 4-bit packages (whose manifest hashes differ), and each lossy package's own hash", async () => {
    const [fp32, int4, requantized, int8] = await Promise.all([load(built.fp32.files), load(built.int4.files), load(built.requantized.files), load(built.int8.files)]);
    expect(int4.hash).not.toBe(fp32.hash);
    expect(int4.baseId).toBe(fp32.baseId);
    expect(requantized.baseId).toBe(requantized.hash);
    expect(int8.baseId).toBe(int8.hash);
    expect(new Set([fp32.baseId, requantized.baseId, int8.baseId]).size).toBe(3);
  });

  it("differs for another checkpoint, another architecture or another tokenizer, lossless or not", async () => {
    const fp32 = await load(built.fp32.files);
    const other = await load(q4Package(ckpt, "fp32", { sha256: "0".repeat(64) }).files);
    expect(other.baseId).not.toBe(fp32.baseId);
    // the same manifest with a changed architecture or tokenizer hash: identities over manifests
    const edited = async (edit: (m: Record<string, any>) => void) => {
      const m = JSON.parse(new TextDecoder().decode(built.fp32.files["manifest.json"]!));
      edit(m);
      return (await loadModelPackage(async (p) => (p === "manifest.json" ? new TextEncoder().encode(JSON.stringify(m)) : built.fp32.files[p]!), { verify: false })).baseId;
    };
    expect(await edited(() => {})).toBe(fp32.baseId);
    expect(await edited((m) => (m.architecture.rope_theta = 10_000))).not.toBe(fp32.baseId);
    expect(await edited((m) => (m.files.tokenizer.sha256 = "1".repeat(64)))).not.toBe(fp32.baseId);
    expect(await edited((m) => (m.lora.max_rank = 16))).not.toBe(fp32.baseId);
    expect(await edited((m) => delete m.quantization.lossless)).not.toBe(fp32.baseId);
  });

  it("an adapter registered on the fp32 package is accepted by the 4-bit one, and refused by the int8 one with 409 adapter_base_mismatch", async () => {
    const [fp32, int4, int8] = await Promise.all([load(built.fp32.files), load(built.int4.files), load(built.int8.files)]);
    const upload = await prepareUpload("helpdesk", peftFiles({ r: 4, seed: 3 }), uploadBase(fp32), { maxRank: 64 });
    expect(upload.summary.base_model_hash).toBe(fp32.baseId);
    const onInt4 = deserializePreparedAdapter(upload.prepared.bytes, Q4_ARCH, { baseId: int4.baseId });
    expect(onInt4.baseId).toBe(int4.baseId);
    expect(() => deserializePreparedAdapter(upload.prepared.bytes, Q4_ARCH, { baseId: int8.baseId })).toThrow(expect.objectContaining({ status: 409, code: "adapter_base_mismatch" }));
  });
});
