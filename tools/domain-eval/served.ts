/**
 * The Node host as `npm start` runs it, in this process: the SmolLM2 package (built or refreshed
 * with `npm run model:smollm2` when it is the default folder), a fresh registry in a temporary
 * folder seeded with the served model's domain adapters exactly as `npm start` seeds it, and the
 * real HTTP server on an ephemeral port. The evaluation reaches it only over HTTP.
 *
 * @example const served = await serveDomainAdapters({ threads: 2 }); … await served.close();
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../../src/app.ts";
import { nodeLimits, openNodeHost } from "../../src/node/host.ts";
import { DEFAULT_MODEL, ensureDefaultPackages } from "../../src/node/default-model.ts";
import { seedServedModel } from "../../src/node/seed-adapters.ts";
import { startServer } from "../../src/node/server.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const SMOLLM2_DIR = join(REPO, DEFAULT_MODEL);

export type ServedDomainAdapters = {
  url: string;
  /** the served base's manifest name and hash (its identity) */
  base: string;
  /** the served package's weight format (`quantization.weights`: fp32, int8, int4) */
  format: string;
  modelHash: string;
  /** domain → the adapter its mapping names (`name@version`), read back from `GET /v1/domains` */
  adapters: Record<string, string>;
  /** where the seeded adapters came from (relative to the repository) */
  adapterDir: string;
  close(): Promise<void>;
};


/** `batching`: the host's `--batching`/`--no-batching` (concurrent requests share decode steps; the package has model.batch.onnx); default off, one question at a time. */
export async function serveDomainAdapters(o: { modelDir?: string; threads?: number; batching?: boolean } = {}): Promise<ServedDomainAdapters> {
  const modelDir = o.modelDir ?? SMOLLM2_DIR;
  const packages = ensureDefaultPackages([modelDir], REPO);
  if (!packages.ok) throw new Error(packages.reason);
  const data = mkdtempSync(join(tmpdir(), "lora-edge-eval-"));
  const adminToken = randomUUID();
  const host = await openNodeHost({
    modelDir, dbPath: join(data, "registry.sqlite"), blobDir: join(data, "blobs"),
    backend: nodeBackend(o.threads ? { threads: o.threads } : {}), limits: nodeLimits(process.env), adminToken, batching: o.batching ?? false,
  });
  const cleanup = () => {
    host.close();
    rmSync(data, { recursive: true, force: true });
  };
  try {
    const seeded = await seedServedModel(host);
    if (!seeded) throw new Error(`${host.base.manifest.name} has no domain adapters to seed (src/node/seed-adapters.ts)`);
    const server = await startServer(createApp(host.deps()).fetch, { port: 0 });
    const res = await fetch(`${server.url}/v1/domains`, { headers: { authorization: `Bearer ${adminToken}` } });
    const mappings = ((await res.json()) as { data: { domain: string; adapter: string; version: number }[] }).data;
    return {
      url: server.url,
      base: host.base.manifest.name,
      format: host.base.manifest.quantization.weights,
      modelHash: host.engine.modelHash,
      adapters: Object.fromEntries(mappings.map((m) => [m.domain, `${m.adapter}@${m.version}`])),
      adapterDir: seeded.dir,
      close: async () => {
        await server.close(1_000);
        cleanup();
      },
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}
