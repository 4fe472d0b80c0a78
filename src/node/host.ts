/**
 * The Node host's parts: a model package read from a directory (and the package browsers download), an engine on onnxruntime-node, the
 * registry in a SQLite file and a blob directory, the adapter caches and the router, handed to the
 * same `createApp` as the Worker's (through src/app-deps.ts). Nothing here knows HTTP.
 *
 * @example
 * const host = await openNodeHost({ modelDir: "models/demo", dbPath: "data/registry.sqlite", blobDir: "data/blobs" });
 * serve({ fetch: createApp(host.deps()).fetch, port: 8787 });
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AppDeps } from "../deps.ts";
import { createAppDeps } from "../app-deps.ts";
import { AdapterCache } from "../adapters/cache.ts";
import { Engine } from "../runtime/engine.ts";
import { loadModelPackage, readPackageFile } from "../runtime/model-package.ts";
import { readBaseWeight } from "../runtime/base-weights.ts";
import type { EngineBackend } from "../runtime/backend.ts";
import { nodeBackend } from "../runtime/node-backend.ts";
import { readLimits, type Limits } from "../pipeline/limits.ts";
import { admissionFromLimits, type Admission } from "../pipeline/admission.ts";
import type { StoredAdapter } from "../pipeline/select.ts";
import { DomainRouter } from "../pipeline/routing.ts";
import { SqlRegistry, type BlobStore } from "../registry/sql-registry.ts";
import { openSqlite, type SqliteDatabase } from "../registry/sqlite.ts";
import { openBlobDirectory } from "../registry/blob-directory.ts";
import { bytesOf, packageFiles } from "./package-files.ts";
import { seedAdapters, staleSeeds, type SeedAdapter } from "../registry/seed.ts";
import type { UploadBase } from "../registry/upload.ts";

export type NodeHostOptions = {
  /** the model package's folder (manifest.json, model.onnx, …) */
  modelDir: string;
  /**
   * the package browsers download from `/v1/model-package` (the playground's "answer in this
   * browser"): another format of the same base, e.g. the 4-bit package beside an fp32 one; default
   * the served package itself
   */
  browserModelDir?: string;
  /** the registry's SQLite file (created with its folder on first start) */
  dbPath: string;
  /** the blob directory (created on first start; may be shared storage) */
  blobDir: string;
  /** the engine's backend; default onnxruntime-node with its default threads */
  backend?: EngineBackend;
  /** limits (the Worker's var names); default: `nodeLimits(process.env)` */
  limits?: Limits;
  adminToken?: string | undefined;
  /** the router artifact; default models/router/router.json */
  routerPath?: string;
  /**
   * Batch concurrent requests' decode steps (src/runtime/batcher.ts; the package needs
   * model.batch.onnx). Default: on where batching changes no text — packages that compute on
   * float32 activations (`Engine.batchesByDefault`: fp32, and int4 like `models/smollm2-135m`); off with
   * int8 activations, where a batched request's tokens differ from its one-by-one run at the level
   * of quantization noise (README "Batching").
   */
  batching?: boolean;
};

/** Overrides for one `deps()` (tests, benches): own caches, a blob store with faults, limits, an admission budget. */
export type DepsOverrides = { blobs?: (real: BlobStore) => BlobStore; cache?: AdapterCache; stored?: AdapterCache<StoredAdapter>; limits?: Partial<Limits>; admission?: Admission };

export type NodeHost = {
  engine: Engine;
  base: UploadBase;
  limits: Limits;
  /** `createApp`'s dependencies; the shared caches and router unless overridden */
  deps(overrides?: DepsOverrides): AppDeps;
  /** Seed an empty registry with these domain adapters; whether it did. */
  seed(adapters: readonly SeedAdapter[]): Promise<boolean>;
  /** The seeded adapters the registry holds with other weights than these files (see `staleSeeds`). */
  staleSeeds(adapters: readonly SeedAdapter[]): Promise<Array<{ domain: string; adapter: string }>>;
  close(): void;
};

const ROUTER_PATH = new URL("../../models/router/router.json", import.meta.url);
/**
 * A Node host's limits: the Worker's names and defaults, except what a process with the machine's
 * RAM (not an isolate's 128 MB) can afford. Generation memory 1 GiB (SmolLM2-135M's KV cache is
 * ~46 KB per token, so ~40 requests of 512 tokens); adapter tiers sized for a 135 M base, whose r=16
 * all-projection adapter is ~20 MiB of prepared feeds and ~10 MiB stored: hot 256 MiB (~12), warm
 * 1 GiB (~100). The environment overrides each.
 *
 * @example nodeLimits(process.env).ADAPTER_HOT_BYTES // 268435456 unless ADAPTER_HOT_BYTES is set
 */
export function nodeLimits(env: Record<string, unknown>): Limits {
  return readLimits({ MEMORY_BUDGET_BYTES: 1 << 30, ADAPTER_HOT_BYTES: 256 << 20, ADAPTER_CACHE_BYTES: 1 << 30, ...env });
}

/** Load the model, create the engine and open the registry. */
export async function openNodeHost(o: NodeHostOptions): Promise<NodeHost> {
  const readModelFile = async (p: string) => bytesOf(await readFile(join(o.modelDir, p)));
  const pkg = await loadModelPackage(readModelFile);
  const readWeights = () => readPackageFile(readModelFile, pkg.manifest.files.weights);
  // the JS copy of the weights goes once the backend has them; DoRA reads the file again
  const backend = o.backend ?? nodeBackend();
  const batching = o.batching ?? Engine.batchesByDefault(pkg, backend);
  const engine = await Engine.create(pkg, { backend, rereadWeights: readWeights, batching });
  const base: UploadBase = {
    manifest: pkg.manifest,
    baseId: pkg.baseId,
    baseWeights: async () => {
      const bytes = await readWeights();
      return (l, proj) => readBaseWeight(pkg.manifest, bytes, l, proj);
    },
  };
  const modelPackage = await packageFiles(o.browserModelDir ?? o.modelDir, pkg.baseId);
  const routerArtifact = JSON.parse(await readFile(o.routerPath ?? ROUTER_PATH, "utf8")) as unknown;
  const limits = o.limits ?? nodeLimits(process.env);
  let db: SqliteDatabase | undefined;
  try {
    db = await openSqlite(o.dbPath);
    const blobs = await openBlobDirectory(o.blobDir);
    const registry = new SqlRegistry(db, blobs);
    const shared = {
      cache: new AdapterCache({ maxBytes: limits.ADAPTER_HOT_BYTES }),
      stored: new AdapterCache<StoredAdapter>({ maxBytes: limits.ADAPTER_CACHE_BYTES }),
      router: new DomainRouter(() => routerArtifact, registry),
      admission: admissionFromLimits(limits),
    };
    const sqlite = db;
    return {
      engine,
      base,
      limits,
      deps(v = {}) {
        const lim = { ...limits, ...v.limits };
        const reg = v.blobs ? new SqlRegistry(sqlite, v.blobs(blobs)) : registry;
        // own caches: no shared warm tier unless given, so what a test injects is what it reads
        const cache = v.cache ?? shared.cache;
        const stored = v.stored ?? (v.cache ? undefined : shared.stored);
        return createAppDeps({ engine: async () => engine, base: async () => base, limits: lim, registry: reg, cache, ...(stored ? { stored } : {}), router: shared.router, admission: v.admission ?? (v.limits ? admissionFromLimits(lim) : shared.admission), adminToken: o.adminToken, modelPackage });
      },
      seed: (adapters) => seedAdapters(registry, base, limits, adapters),
      staleSeeds: (adapters) => staleSeeds(registry, adapters),
      close: () => sqlite.close(),
    };
  } catch (err) {
    db?.close();
    throw err;
  }
}
