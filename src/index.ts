/**
 * The Cloudflare Worker entry: ORT's wasm comes from the bundle, the model package from the
 * Worker's static assets (`site/models/`, binding `ASSETS`: files too big for a bundle, public only
 * through the Worker's /v1/model-package routes; the playground beside them is public); the engine,
 * the adapter caches and the router are created once per isolate, on first use.
 * The package's weights are held in JS only while ORT's session is created.
 */
import { env as workerEnv } from "cloudflare:workers";
import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import routerArtifact from "../models/router/router.json";
import { createApp } from "./app.ts";
import { createAppDeps } from "./app-deps.ts";
import type { AppDeps } from "./deps.ts";
import { AdapterCache } from "./adapters/cache.ts";
import { LoraEdgeError } from "./errors.ts";
import { Engine } from "./runtime/engine.ts";
import { wasmBackend } from "./runtime/wasm-backend.ts";
import { loadManifest, loadModelPackage, readPackageFile } from "./runtime/model-package.ts";
import { readBaseWeight } from "./runtime/base-weights.ts";
import { readLimits } from "./pipeline/limits.ts";
import { admissionFromLimits, type Admission } from "./pipeline/admission.ts";
import type { StoredAdapter } from "./pipeline/select.ts";
import { DomainRouter } from "./pipeline/routing.ts";
import { CloudflareRegistry } from "./registry/cloudflare.ts";
import { seedAdapters } from "./registry/seed.ts";
import { DEMO_ADAPTERS } from "./registry/demo-adapters.ts";
import type { AdapterRegistry } from "./registry/types.ts";
import type { UploadBase } from "./registry/upload.ts";
import type { Env } from "./env.ts";

/**
 * The model package the Worker serves: `models/<MODEL_PACKAGE>/` in the static assets (the var,
 * wrangler.toml: "demo"; `wrangler dev --var MODEL_PACKAGE:<folder>` serves another, split into
 * parts under the 25 MiB asset limit when it is bigger: README "Where it runs").
 */
const modelPackageName = () => (workerEnv as unknown as Env).MODEL_PACKAGE || "demo";

/**
 * A file of the embedded package as the static assets answer it: the one place the Worker reads
 * them. `headers` may carry a `Range` (the assets answer 206 with that part).
 */
async function fetchModelFile(path: string, headers?: HeadersInit): Promise<Response> {
  const name = modelPackageName();
  const res = await (workerEnv as unknown as Env).ASSETS.fetch(new Request(`https://assets/models/${name}/${path}`, headers ? { headers } : {}));
  if (!res.ok) throw new Error(`model package file ${name}/${path}: ${res.status}`);
  return res;
}

async function readModelFile(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetchModelFile(path)).arrayBuffer());
}

/** Retry-on-failure memo: a rejected promise is dropped so the next request tries again. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () =>
    (value ??= make().catch((err) => {
      value = undefined;
      throw err;
    }));
}

/** The embedded package's manifest and identity (uploads check adapters against them; no ORT). */
const embeddedManifest = once(() => loadManifest(readModelFile));

/** The weights file, read from the assets and checked against the manifest each time it is needed. */
async function readEmbeddedWeights(): Promise<Uint8Array> {
  return readPackageFile(readModelFile, (await embeddedManifest()).manifest.files.weights);
}

/**
 * The isolate's engine (created on first use; a failed creation is retried by the next request).
 * Once ORT has the weights in its heap the package bytes are let go: the engine reads the weights
 * file again only for DoRA.
 */
export const embeddedEngine = once(async () => {
  const asked = batchingOf((workerEnv as unknown as Env).BATCHING); // a bad value fails before the model loads
  const pkg = await loadModelPackage(readModelFile);
  const backend = await wasmBackend(ortWasm);
  return Engine.create(pkg, { backend, rereadWeights: readEmbeddedWeights, batching: asked ?? Engine.batchesByDefault(pkg, backend) });
});

/**
 * The `BATCHING` var: "true" or "false" decide; unset or "auto" leaves it to the package
 * (`Engine.batchesByDefault`). Anything else is the operator's mistake, said as it is: every route
 * that needs the engine answers 500 `invalid_configuration` naming the var (not "internal error").
 */
function batchingOf(value: string | undefined): boolean | undefined {
  if (value === "true" || value === "false") return value === "true";
  if (value === undefined || value === "" || value === "auto") return undefined;
  throw new LoraEdgeError(500, "invalid_configuration", `the Worker's BATCHING var must be "true", "false" or "auto", not ${JSON.stringify(value)} (wrangler.toml [vars])`, { param: "BATCHING" });
}

/** The embedded base as uploads need it: manifest, identity and (for DoRA) the dequantized weights. */
export async function embeddedBase(): Promise<UploadBase> {
  const { manifest, baseId } = await embeddedManifest();
  return {
    manifest,
    baseId,
    baseWeights: async () => {
      const bytes = await readEmbeddedWeights();
      return (l, proj) => readBaseWeight(manifest, bytes, l, proj);
    },
  };
}

let isolateCache: AdapterCache | undefined;
let isolateStored: AdapterCache<StoredAdapter> | undefined;
let isolateRouter: { registry: AdapterRegistry; router: DomainRouter } | undefined;
let isolateAdmission: Admission | undefined;

/**
 * Everything `createApp` needs, from the Worker's bindings. Per-isolate state (adapter cache,
 * router) is shared between requests unless `overrides` gives its own (tests, faults, benches).
 *
 * @example createApp(workerDeps(env, { bucket: slowBucket(env.ADAPTERS), cache: new AdapterCache({ maxBytes: 1 << 20 }) }))
 */
export function workerDeps(env: Env, overrides: { bucket?: R2Bucket; cache?: AdapterCache; stored?: AdapterCache<StoredAdapter>; admission?: Admission } = {}): AppDeps {
  const limits = readLimits(env);
  const registry = new CloudflareRegistry(env.DB, overrides.bucket ?? env.ADAPTERS);
  const cache = overrides.cache ?? (isolateCache ??= new AdapterCache({ maxBytes: limits.ADAPTER_HOT_BYTES }));
  // a caller that brings its own hot tier (tests, benches) gets no shared warm tier unless it asks,
  // so what it injects into storage is what it reads
  const stored = overrides.stored ?? (overrides.cache ? undefined : (isolateStored ??= new AdapterCache<StoredAdapter>({ maxBytes: limits.ADAPTER_CACHE_BYTES })));
  // the router reads the registry only for domains and examples (D1), never blobs: one per isolate
  const router = (isolateRouter ??= { registry, router: new DomainRouter(() => routerArtifact, registry) }).router;
  const admission = overrides.admission ?? (isolateAdmission ??= admissionFromLimits(limits));
  const modelPackage = { manifest: embeddedManifest, file: (path: string, range?: string) => fetchModelFile(path, range ? { range } : undefined) };
  return createAppDeps({ engine: embeddedEngine, base: embeddedBase, limits, admission, registry, cache, ...(stored ? { stored } : {}), router, adminToken: env.ADMIN_TOKEN, modelPackage });
}

let seeded: Promise<void> | undefined;

export default {
  async fetch(request, env, ctx) {
    const deps = workerDeps(env);
    // the demo adapters fit the demo model only
    if (env.SEED_DEMO_ADAPTERS === "true" && modelPackageName() === "demo") {
      seeded ??= seedAdapters(deps.admin!.registry, await embeddedBase(), readLimits(env), DEMO_ADAPTERS).then(
        () => undefined,
        (err) => {
          seeded = undefined; // the next request tries again
          console.error("seeding the demo adapters failed:", err);
        },
      );
      await seeded;
    }
    return createApp(deps).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
