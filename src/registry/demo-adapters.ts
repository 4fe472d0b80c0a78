/**
 * The demo domains `support`, `sales` and `technical` with their seeded random PEFT adapters for
 * models/demo (written by `npm run make-demo-adapters`), bundled into the Worker. Seeded only when
 * `SEED_DEMO_ADAPTERS = "true"` (set in .dev.vars, never in wrangler.toml).
 */
import demoSupportConfig from "../../models/demo-adapters/support/adapter_config.json";
import demoSupportWeights from "../../models/demo-adapters/support/adapter_model.safetensors";
import demoSalesConfig from "../../models/demo-adapters/sales/adapter_config.json";
import demoSalesWeights from "../../models/demo-adapters/sales/adapter_model.safetensors";
import demoTechnicalConfig from "../../models/demo-adapters/technical/adapter_config.json";
import demoTechnicalWeights from "../../models/demo-adapters/technical/adapter_model.safetensors";
import type { SeedAdapter } from "./seed.ts";

export const DEMO_ADAPTERS: readonly SeedAdapter[] = [
  { domain: "support", config: demoSupportConfig, weights: demoSupportWeights },
  { domain: "sales", config: demoSalesConfig, weights: demoSalesWeights },
  { domain: "technical", config: demoTechnicalConfig, weights: demoTechnicalWeights },
];
