/**
 * The model package a Node host hands to browsers (`/v1/model-package`), read from a folder: the
 * served package itself, or another format of the same base (the 4-bit package beside the fp32
 * one SmolLM2 is served in). A folder whose base identity differs from the served one is refused
 * here, at start: its pages would refuse every adapter the host serves.
 *
 * @example const modelPackage = await packageFiles("models/smollm2-135m-int4", engine.baseId);
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { PackageDeps } from "../deps.ts";
import { loadManifest } from "../runtime/model-package.ts";
import { parseRange } from "../routes/http-read.ts";

/**
 * A file's bytes as a plain Uint8Array over the Buffer's memory. Not `new Uint8Array(buffer)`: that
 * copies, and the copy of the weights coexisted with the engine's while it was created (SmolLM2
 * fp32: the host's peak RSS 2.00 → 1.64 GB, int4 0.65 → 0.53 GB). Not the Buffer itself: its
 * `slice` is a view, where code written for Uint8Array expects a copy.
 */
export function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export async function packageFiles(dir: string, servedBaseId: string): Promise<PackageDeps> {
  const index = await loadManifest(async (p) => bytesOf(await readFile(join(dir, p))));
  if (index.baseId !== servedBaseId) {
    throw new Error(
      `the browser package in ${dir} (${index.manifest.name}, ${index.manifest.quantization.weights}) is not the served base: base identity ${index.baseId.slice(0, 12)}, served ${servedBaseId.slice(0, 12)} ` +
        "(both must be lossless builds of one checkpoint, e.g. `npm run model:smollm2` writes both)",
    );
  }
  return {
    manifest: async () => index,
    async file(path, range) {
      const file = join(dir, path);
      const { size } = await stat(file);
      const r = parseRange(range, size);
      if (r && r !== "unsatisfiable") return new Response(Readable.toWeb(createReadStream(file, { start: r.start, end: r.end })) as ReadableStream, { status: 206 });
      return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream);
    },
  };
}
