/**
 * The Node host batches concurrent requests by default exactly where that changes no text
 * (`computesInFloat32`): a package with the batched graph computing on float32 activations (fp32;
 * int4 with dequantized blocks, as `npm start`'s SmolLM2) batches, int4 with int8 activations and
 * int8 do not, and `batching` overrides either way. Packages of the tiny Q4 checkpoint, on disk.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeModelPackage } from "../../src/builder/package.ts";
import { openNodeHost } from "../../src/node/host.ts";
import { readLimits } from "../../src/pipeline/limits.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { q4Checkpoint, q4Package } from "../support/q4-model.ts";

const dir = mkdtempSync(join(tmpdir(), "lora-edge-batching-default-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ckpt = q4Checkpoint();

async function hostBatches(name: string, files: ReturnType<typeof q4Package>["files"], batching?: boolean) {
  writeModelPackage(join(dir, name), files);
  const host = await openNodeHost({
    modelDir: join(dir, name), dbPath: join(dir, `${name}.sqlite`), blobDir: join(dir, `${name}-blobs`), backend: nodeBackend({ threads: 1 }), limits: readLimits({}),
    ...(batching !== undefined ? { batching } : {}),
  });
  try {
    return host.engine.batcher !== undefined;
  } finally {
    host.close();
  }
}

describe("the Node host's batching default", () => {
  it("on for fp32 and for int4 computing in fp32, off for int4 with int8 activations, for int8 and without a batched graph", async () => {
    expect(await hostBatches("fp32", q4Package(ckpt, "fp32", { batch: true }).files)).toBe(true);
    expect(await hostBatches("int4", q4Package(ckpt, "int4", { batch: true }).files)).toBe(true);
    expect(await hostBatches("int4-block", q4Package(ckpt, "int4", { batch: true, int4Activations: "block" }).files)).toBe(false);
    expect(await hostBatches("int8", q4Package(ckpt, "int8", { batch: true }).files)).toBe(false);
    expect(await hostBatches("fp32-plain", q4Package(ckpt, "fp32").files)).toBe(false);
  }, 120_000);

  it("`batching` overrides the default both ways", async () => {
    expect(await hostBatches("fp32-off", q4Package(ckpt, "fp32", { batch: true }).files, false)).toBe(false);
    expect(await hostBatches("int8-on", q4Package(ckpt, "int8", { batch: true }).files, true)).toBe(true);
  }, 120_000);
});
