/**
 * Seeding: an empty registry gets a set of domains, each mapped to an adapter registered as
 * `<domain>-demo` through the same validation and storage path as an upload. Which adapters is
 * data: the Worker bundles models/demo-adapters (src/registry/demo-adapters.ts), the Node host reads
 * the adapter folder that belongs to the model it serves (src/node/seed-adapters.ts).
 */
import type { Limits } from "../pipeline/limits.ts";
import { sha256Hex } from "../runtime/model-package.ts";
import type { AdapterRegistry } from "./types.ts";
import { prepareUpload, type UploadBase } from "./upload.ts";

/** A domain and its PEFT files. */
export type SeedAdapter = { domain: string; config: unknown; weights: ArrayBuffer | Uint8Array };

/** The name a domain's seeded adapter is registered under. */
export const seedName = (domain: string) => `${domain}-demo`;

/**
 * Register `<domain>-demo` and map `<domain>` to it for each adapter, if the registry holds no
 * adapter and no domain yet (so a persisted registry is never touched again).
 *
 * @example await seedAdapters(registry, await embeddedBase(), limits, DEMO_ADAPTERS) // registers support-demo@1, sales-demo@1, technical-demo@1
 */
export async function seedAdapters(registry: AdapterRegistry, base: UploadBase, limits: Limits, adapters: readonly SeedAdapter[]): Promise<boolean> {
  if ((await registry.list()).length > 0 || (await registry.domains()).length > 0) return false;
  for (const seed of adapters) {
    const files = { config: new TextEncoder().encode(JSON.stringify(seed.config)), weights: new Uint8Array(seed.weights) };
    const adapter = await registry.register(await prepareUpload(seedName(seed.domain), files, base, { maxRank: limits.MAX_ADAPTER_RANK }));
    await registry.mapDomain(seed.domain, { adapter: adapter.name, version: adapter.version });
  }
  return true;
}

/**
 * The seeded adapters (`<domain>-demo`) whose latest stored version holds other weights than the
 * files that would seed it now: a registry seeded by an older checkout keeps serving its adapters
 * under the same names (seeding never touches a persisted registry), so the host says so at start.
 *
 * @example await staleSeeds(registry, adapters) // [{ domain: "sales", adapter: "sales-demo@1" }]
 */
export async function staleSeeds(registry: AdapterRegistry, adapters: readonly SeedAdapter[]): Promise<Array<{ domain: string; adapter: string }>> {
  const stale = [];
  for (const seed of adapters) {
    const stored = await registry.resolve(seedName(seed.domain));
    if (stored && stored.sha256 !== (await sha256Hex(new Uint8Array(seed.weights)))) stale.push({ domain: seed.domain, adapter: `${stored.name}@${stored.version}` });
  }
  return stale;
}
