/**
 * Which adapters a chat request runs with, and their runtime feeds: `model: "auto"` → the domain
 * router and the domain's mapped adapter; `"<name>"` / `"<name>@<version>"` → that adapter;
 * `"base"` or the base's name → none; the `adapters: [{name, weight}]` field composes several.
 * Adapters come through two per-isolate tiers: `cache` holds prepared feeds (what a request runs
 * with; a switch between them is a lookup), `stored` holds the compact stored form (16-bit for
 * adapters uploaded in 16 bits, ~⅓ of the feeds' bytes) so many more adapters stay in the isolate
 * and a hot-tier miss re-assembles feeds in milliseconds instead of reading R2. Each tier loads a
 * missing entry once however many requests wait for it; feeds are leased until generation ends. A
 * storage failure or timeout is a 503 for this request only.
 */
import type { AdapterSelection, AppDeps } from "../deps.ts";
import { AdapterCache, type AdapterLease } from "../adapters/cache.ts";
import { composeAdapters } from "../adapters/compose.ts";
import { deserializePreparedAdapter } from "../adapters/prepare.ts";
import { LoraEdgeError } from "../errors.ts";
import type { Engine } from "../runtime/engine.ts";
import type { AdapterManifest, AdapterRegistry } from "../registry/types.ts";
import { isBaseModelName } from "./chat.ts";
import { resolveModel, type DomainRouter } from "./routing.ts";

export type SelectorDeps = {
  registry: AdapterRegistry;
  /** Hot tier: prepared feeds, keyed by the stored form's sha256. */
  cache: AdapterCache;
  /** Warm tier: stored forms as read from storage, same keys; absent → every hot miss reads storage. */
  stored?: AdapterCache<StoredAdapter>;
  /** The domain router; absent → `auto` runs the base model (reason `fallback`). */
  router?: DomainRouter;
  /** Longest wait for an adapter's bytes from storage before answering 503. */
  loadTimeoutMs: number;
};

/**
 * @example createApp({ ...deps, selectAdapters: createAdapterSelector({ registry, cache, router, loadTimeoutMs: 5000 }) })
 */
export function createAdapterSelector(d: SelectorDeps): AppDeps["selectAdapters"] {
  return async (req, messages, engine) => {
    if (req.adapters?.length) {
      const adapters = await Promise.all(req.adapters.map((a) => resolveModel(d.registry, a.name, "adapters")));
      const label = adapters.map((a, i) => (req.adapters![i]!.weight === 1 ? a.id : `${a.id}*${req.adapters![i]!.weight}`)).join("+");
      return { reason: "explicit", adapterLabel: label, ...(await load(d, engine, adapters, req.adapters.map((a) => a.weight))) };
    }
    if (isBaseModelName(req.model, engine.manifest.name)) return { reason: "base", loadMs: 0 };
    if (req.model === "auto") {
      if (!d.router) return { reason: "fallback", loadMs: 0 };
      const { decision, mapping } = await d.router.auto(messages);
      const seen = { confidence: decision.confidence, ...(decision.domain !== null ? { domain: decision.domain } : {}) };
      if (!mapping) return { reason: "fallback", ...seen, loadMs: 0 };
      const adapter = await resolveModel(d.registry, `${mapping.adapter}@${mapping.version}`);
      return { reason: "classifier", ...seen, adapterLabel: adapter.id, ...(await load(d, engine, [adapter], [1])) };
    }
    const adapter = await resolveModel(d.registry, req.model);
    return { reason: "explicit", adapterLabel: adapter.id, ...(await load(d, engine, [adapter], [1])) };
  };
}

/** Lease every adapter from the cache (loading misses from storage) and compose their feeds. */
async function load(d: SelectorDeps, engine: Engine, adapters: AdapterManifest[], weights: number[]): Promise<Pick<AdapterSelection, "lora" | "loadMs" | "release">> {
  const t0 = performance.now();
  for (const a of adapters) {
    if (a.base_model_hash !== engine.baseId) {
      throw new LoraEdgeError(409, "adapter_base_mismatch", `${a.id} was registered for base ${a.base_model_hash.slice(0, 12)}, this host serves ${engine.baseId.slice(0, 12)}`, { param: "model" });
    }
  }
  const settled = await Promise.allSettled(adapters.map((a) => d.cache.acquire(a.prepared.sha256, () => readPrepared(d, engine, a))));
  const leases = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const release = () => leases.forEach((l) => l.release());
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) {
    release();
    throw failed.reason;
  }
  try {
    const lora = composeAdapters(engine.manifest.architecture, leases.map((l: AdapterLease, i) => ({ adapter: l.adapter, weight: weights[i]! })), { maxRank: engine.manifest.lora.max_rank });
    return { lora, loadMs: performance.now() - t0, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** An adapter's stored form held in memory (the warm tier's entry). */
export type StoredAdapter = { data: Uint8Array; bytes: number };

async function readPrepared(d: SelectorDeps, engine: Engine, a: AdapterManifest) {
  const stored = d.stored ? await d.stored.get(a.prepared.sha256, () => readStored(d, a)) : await readStored(d, a);
  return deserializePreparedAdapter(stored.data, engine.manifest.architecture, { baseId: engine.baseId });
}

async function readStored(d: SelectorDeps, a: AdapterManifest): Promise<StoredAdapter> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoraEdgeError(503, "storage_unavailable", `adapter ${a.id} did not load within ${d.loadTimeoutMs} ms; retry shortly`, { retryAfter: 2 })), d.loadTimeoutMs);
  });
  try {
    const data = await Promise.race([d.registry.readPrepared(a), timeout]);
    return { data, bytes: data.byteLength };
  } finally {
    clearTimeout(timer);
  }
}
