/**
 * Dev seeding: an empty registry gets the demo domains `support`, `sales` and `technical`, each
 * mapped to a small seeded random PEFT adapter from models/demo-adapters (until trained ones exist).
 * Runs only when `SEED_DEMO_ADAPTERS = "true"` (set in .dev.vars, never in wrangler.toml), through
 * the same validation and storage path as an upload.
 */
import demoSupportConfig from "../../models/demo-adapters/support/adapter_config.json";
import demoSupportWeights from "../../models/demo-adapters/support/adapter_model.safetensors";
import demoSalesConfig from "../../models/demo-adapters/sales/adapter_config.json";
import demoSalesWeights from "../../models/demo-adapters/sales/adapter_model.safetensors";
import demoTechnicalConfig from "../../models/demo-adapters/technical/adapter_config.json";
import demoTechnicalWeights from "../../models/demo-adapters/technical/adapter_model.safetensors";
import type { Limits } from "../pipeline/limits.ts";
import type { AdapterRegistry } from "./types.ts";
import { prepareUpload, type UploadBase } from "./upload.ts";

/** The demo domains and their bundled adapters (written by `npm run make-demo-adapters`). */
export const DEMO_ADAPTERS = [
  { domain: "support", config: demoSupportConfig, weights: demoSupportWeights },
  { domain: "sales", config: demoSalesConfig, weights: demoSalesWeights },
  { domain: "technical", config: demoTechnicalConfig, weights: demoTechnicalWeights },
];

/**
 * Register `<domain>-demo` and map `<domain>` to it for each demo domain, if the registry holds no
 * adapter and no domain yet (so a persisted dev registry is never touched again).
 *
 * @example await seedDemoAdapters(registry, await embeddedBase(), limits) // registers support-demo@1, sales-demo@1, technical-demo@1
 */
export async function seedDemoAdapters(registry: AdapterRegistry, base: UploadBase, limits: Limits): Promise<boolean> {
  if ((await registry.list()).length > 0 || (await registry.domains()).length > 0) return false;
  for (const demo of DEMO_ADAPTERS) {
    const files = { config: new TextEncoder().encode(JSON.stringify(demo.config)), weights: new Uint8Array(demo.weights) };
    const adapter = await registry.register(await prepareUpload(`${demo.domain}-demo`, files, base, { maxRank: limits.MAX_ADAPTER_RANK }));
    await registry.mapDomain(demo.domain, { adapter: adapter.name, version: adapter.version });
  }
  return true;
}
