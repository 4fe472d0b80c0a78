/**
 * Which adapters seed an empty registry on the Node host: a folder per served base (by the
 * manifest's `name`), holding one PEFT folder per domain (`<dir>/<domain>/adapter_config.json`,
 * `adapter_model.safetensors`). A base with no entry, or whose folder is missing, is not seeded.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SeedAdapter } from "../registry/seed.ts";
import type { NodeHost } from "./host.ts";

/** Base model name → folder of its domain adapters (relative to the repository root). */
export const SEED_ADAPTER_DIRS: Readonly<Record<string, string>> = {
  demo: "models/demo-adapters",
  "smollm2-135m": "models/adapters/smollm2",
};

/** The domain adapters in `dir` (sorted by domain), or none if it does not exist. */
export async function readSeedAdapters(dir: string): Promise<SeedAdapter[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const domains = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    domains.map(async (domain) => ({
      domain,
      config: JSON.parse(await readFile(join(dir, domain, "adapter_config.json"), "utf8")) as unknown,
      weights: new Uint8Array(await readFile(join(dir, domain, "adapter_model.safetensors"))),
    })),
  );
}

/**
 * What `npm start` does on an empty registry: seed it with the served model's domain adapters.
 * The folder and the domains it seeded; on a registry that already holds adapters or domains, the
 * seeded adapters whose stored weights differ from the shipped files (`stale`), if any; otherwise
 * undefined (also when this model has no folder, or an empty one).
 */
export async function seedServedModel(host: NodeHost): Promise<{ dir: string; domains: string[] } | { dir: string; stale: Array<{ domain: string; adapter: string }> } | undefined> {
  const dir = SEED_ADAPTER_DIRS[host.base.manifest.name];
  const adapters = dir ? await readSeedAdapters(dir) : [];
  if (!dir || !adapters.length) return undefined;
  if (await host.seed(adapters)) return { dir, domains: adapters.map((a) => a.domain) };
  // a persisted registry: say which seeded adapters are older than the shipped files
  const stale = await host.staleSeeds(adapters);
  return stale.length ? { dir, stale } : undefined;
}
