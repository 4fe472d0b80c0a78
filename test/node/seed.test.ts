/**
 * Seeding on the Node host (src/node/seed-adapters.ts): an empty registry gets the served model's
 * domain adapters; a persisted one is left as it is, and the host names the seeded adapters whose
 * stored weights are not the shipped files any more (a registry seeded by an older checkout).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openNodeHost, type NodeHost } from "../../src/node/host.ts";
import { readSeedAdapters, SEED_ADAPTER_DIRS, seedServedModel } from "../../src/node/seed-adapters.ts";
import { readLimits } from "../../src/pipeline/limits.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";

const DEMO_ADAPTERS = SEED_ADAPTER_DIRS["demo"]!;
let hosts: NodeHost[] = [];

async function host(dir: string): Promise<NodeHost> {
  const h = await openNodeHost({ modelDir: "models/demo", dbPath: join(dir, "registry.sqlite"), blobDir: join(dir, "blobs"), backend: nodeBackend({ threads: 1 }), limits: readLimits({}) });
  hosts.push(h);
  return h;
}

afterEach(() => {
  for (const h of hosts) h.close();
  hosts = [];
});

describe("seeding the Node host's registry", () => {
  it("seeds an empty registry with the served model's domain adapters, and a second start changes nothing and reports nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lora-edge-seed-"));
    expect(await seedServedModel(await host(dir))).toEqual({ dir: DEMO_ADAPTERS, domains: ["sales", "support", "technical"] });
    hosts.pop()!.close();
    const again = await host(dir);
    expect(await seedServedModel(again)).toBeUndefined();
    expect((await again.deps().admin!.registry.list()).map((a) => `${a.name}@${a.version}`)).toEqual(["sales-demo@1", "support-demo@1", "technical-demo@1"]);
  }, 60_000);

  it("names the seeded adapters an older checkout stored (other weights than the shipped files), and only those, without touching the registry", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lora-edge-seed-"));
    const shipped = await readSeedAdapters(DEMO_ADAPTERS);
    // what an older checkout shipped for support: other weights of the same shapes (sales')
    const older = shipped.map((a) => (a.domain === "support" ? { ...a, weights: shipped.find((b) => b.domain === "sales")!.weights } : a));
    const first = await host(dir);
    expect(await first.seed(older)).toBe(true);
    const before = await first.deps().admin!.registry.list();
    expect(await seedServedModel(first)).toEqual({ dir: DEMO_ADAPTERS, stale: [{ domain: "support", adapter: "support-demo@1" }] });
    expect(await first.deps().admin!.registry.list()).toEqual(before);
  }, 60_000);
});
