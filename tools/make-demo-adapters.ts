/**
 * `npm run make-demo-adapters`: write the seeded random PEFT adapters the dev registry starts with,
 * models/demo-adapters/{support,sales,technical}/{adapter_config.json,adapter_model.safetensors},
 * for the embedded model (models/demo). Deterministic: same seeds, same bytes. Rank 4 on the
 * attention projections in F16 keeps each adapter under 100 KB.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { randomPeftTensors, writePeftAdapter } from "../test/reference/hf-checkpoint.ts";
import type { HfConfig } from "../test/reference/llama64.ts";

const HELP = `Usage: npm run make-demo-adapters [-- --out <dir>]

Writes seeded random PEFT LoRA adapters (r=4, q/k/v/o_proj, F16) for the demo domains
support, sales and technical, against models/demo's architecture.

  --out <dir>   where to write (default models/demo-adapters)
  -h, --help    this text`;

export const DEMO_DOMAINS = [
  { domain: "support", seed: 101 },
  { domain: "sales", seed: 202 },
  { domain: "technical", seed: 303 },
] as const;

function main(): void {
  const { values } = parseArgs({ options: { out: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const root = fileURLToPath(new URL("../", import.meta.url));
  const out = values.out ?? `${root}models/demo-adapters`;
  const arch = JSON.parse(readFileSync(`${root}models/demo/manifest.json`, "utf8")).architecture as HfConfig;
  const targets = ["q_proj", "k_proj", "v_proj", "o_proj"] as const;
  for (const { domain, seed } of DEMO_DOMAINS) {
    const tensors = randomPeftTensors(arch, { r: 4, targets, seed, std: 0.1 });
    writePeftAdapter(`${out}/${domain}`, { r: 4, lora_alpha: 8, target_modules: [...targets], base_model_name_or_path: "lora-edge/demo" }, tensors, "F16");
    console.error(`wrote ${out}/${domain}`);
  }
}

main();
