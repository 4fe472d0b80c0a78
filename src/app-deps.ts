/**
 * What every host hands `createApp`, built from the same parts: an engine, a registry, the two
 * adapter cache tiers, the domain router and the limits. The Worker (src/index.ts) and the Node host
 * (src/node/) differ only in where those parts come from (bindings and static assets, or a model
 * directory, a SQLite file and a blob directory).
 *
 * @example createApp(createAppDeps({ engine, base, limits, admission, registry, cache, router, adminToken }))
 */
import type { AppDeps, PackageDeps } from "./deps.ts";
import type { AdapterCache } from "./adapters/cache.ts";
import type { Engine } from "./runtime/engine.ts";
import type { Limits } from "./pipeline/limits.ts";
import type { Admission } from "./pipeline/admission.ts";
import { createAdapterSelector, type StoredAdapter } from "./pipeline/select.ts";
import { resolveModel, routeRequest, type DomainRouter } from "./pipeline/routing.ts";
import type { AdapterRegistry } from "./registry/types.ts";
import type { UploadBase } from "./registry/upload.ts";

export type HostParts = {
  /** The engine, created on first use. */
  engine(): Promise<Engine>;
  /** The served base as uploads need it (manifest, identity, DoRA weights), without an engine. */
  base(): Promise<UploadBase>;
  limits: Limits;
  /** generation memory of this isolate or process: requests wait or get a 429 beyond it */
  admission: Admission;
  registry: AdapterRegistry;
  /** hot tier: prepared feeds */
  cache: AdapterCache;
  /** warm tier: stored forms (none: every hot miss reads storage) */
  stored?: AdapterCache<StoredAdapter>;
  router: DomainRouter;
  /** The admin API's bearer token; undefined refuses every admin call. */
  adminToken: string | undefined;
  /** The served model package's files, for browsers (`/v1/model-package`); none = 404. */
  modelPackage?: PackageDeps;
};

export function createAppDeps(p: HostParts): AppDeps {
  const baseName = async () => (await p.base()).manifest.name;
  return {
    engine: p.engine,
    limits: p.limits,
    admission: p.admission,
    selectAdapters: createAdapterSelector({ registry: p.registry, cache: p.cache, ...(p.stored ? { stored: p.stored } : {}), router: p.router, loadTimeoutMs: p.limits.ADAPTER_LOAD_TIMEOUT_MS }),
    listAdapterModels: async () => {
      const base = await baseName();
      const latest = new Map((await p.registry.list()).map((a) => [a.name, a]));
      return [...latest.values()].map((a) => ({ id: a.name, object: "model" as const, created: Math.floor(Date.parse(a.created) / 1000), owned_by: "lora-edge", parent: base, root: base }));
    },
    admin: {
      registry: p.registry,
      token: p.adminToken,
      base: p.base,
      checkDomainExamples: (domain, examples) => p.router.check(domain, examples),
    },
    route: async (req) => routeRequest(p.router, p.registry, req, await baseName()),
    ...(p.modelPackage ? { modelPackage: p.modelPackage } : {}),
    // an adapter version's prepared form for browsers, through the warm tier when there is one
    preparedAdapter: async (model) => {
      const adapter = await resolveModel(p.registry, model);
      const read = async (): Promise<StoredAdapter> => {
        const data = await p.registry.readPrepared(adapter);
        return { data, bytes: data.byteLength };
      };
      return { adapter, data: (p.stored ? await p.stored.get(adapter.prepared.sha256, read) : await read()).data };
    },
  };
}
