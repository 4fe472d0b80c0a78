/**
 * A directory as the registry's blob store on the Node host: `<dir>/peft/<sha256>` and
 * `<dir>/prepared/<sha256>`, the keys R2 holds in the Worker. A blob is written to `<dir>/.tmp/`
 * and renamed into place, so a reader (or a crash) never sees part of one; its bytes are checked
 * against their sha256 first. Point several replicas at one shared directory to share adapters.
 *
 * @example const blobs = await openBlobDirectory("/var/lib/lora-edge/blobs");
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { BlobStore } from "./sql-registry.ts";

const KEY = /^(peft|prepared)\/[0-9a-f]{64}$/;

/** Open (creating it if needed) a blob directory. */
export async function openBlobDirectory(dir: string): Promise<BlobStore> {
  const tmp = join(dir, ".tmp");
  await mkdir(tmp, { recursive: true });
  const path = (key: string) => {
    if (!KEY.test(key)) throw new Error(`not a blob key: ${key}`);
    return join(dir, key);
  };
  return {
    async has(key) {
      return (await stat(path(key)).catch(() => null))?.isFile() ?? false;
    },
    async put(key, bytes, sha256) {
      const actual = createHash("sha256").update(bytes).digest("hex");
      if (actual !== sha256) throw new Error(`blob ${key}: content hashes to ${actual}, not ${sha256}`);
      const target = path(key);
      const part = join(tmp, `${sha256}.${randomUUID()}`);
      try {
        await writeFile(part, bytes, { flush: true });
        await mkdir(dirname(target), { recursive: true });
        await rename(part, target);
      } catch (err) {
        await rm(part, { force: true });
        throw err;
      }
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(path(key)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    },
    async delete(key) {
      await rm(path(key), { force: true });
    },
  };
}
