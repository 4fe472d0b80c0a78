/**
 * `npm run bench:browser [-- --json] [-- --gpu] [-- --formats int4,int8] [-- --tokens 32] [-- --rounds 3]`:
 * the browser runtime in headless chromium, WebGPU and WASM side by side in one page (each round
 * runs both, interleaved; a warm-up round is dropped), on the demo model in each weight format with
 * a random r=16 adapter. Reports prefill ms and decode tokens/s per backend and their ratio.
 *
 * Without `--gpu` WebGPU runs on SwiftShader (software Vulkan: the CI machine has no GPU): those
 * figures show the path works, not how fast a GPU is. `--gpu` asks chromium for the machine's own
 * GPU (bench/browser_device_check.sh runs it on a GPU machine).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { launchChromium } from "../test/browser/support/chromium.ts";
import { buildDemoVariant, serveHarness } from "../test/browser/support/harness-page.ts";
import { median } from "./stats.ts";

const HELP = `Usage: npm run bench:browser -- [--gpu] [--formats int4,int8,fp32] [--tokens N] [--prompt N] [--rounds N] [--json]

WebGPU against WASM in one headless chromium page, on the demo model with a random r=16 adapter.
  --gpu        use the machine's GPU (default: SwiftShader, functional figures only)
  --formats    weight formats to run (default int4,int8)
  --tokens     tokens generated per run (default 32)
  --prompt     prompt tokens (default 64)
  --rounds     measured rounds after one warm-up (default 3)
  --json       one JSON object on stdout`;

const { values } = parseArgs({
  options: {
    gpu: { type: "boolean" },
    formats: { type: "string", default: "int4,int8" },
    tokens: { type: "string", default: "32" },
    prompt: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const formats = values.formats!.split(",") as Array<"fp32" | "int4" | "int8">;
const bad = formats.find((f) => !["fp32", "int4", "int8"].includes(f));
if (bad) {
  console.error(`bench:browser: unknown format ${bad} (fp32, int4, int8)`);
  process.exit(1);
}
const log = (msg: string) => process.stderr.write(`bench:browser: ${msg}\n`);

const tmp = await mkdtemp(join(tmpdir(), "lora-edge-bench-browser-"));
const packages: Record<string, string> = {};
for (const f of formats) {
  log(`building the demo in ${f} …`);
  packages[f] = f === "int8" ? fileURLToPath(new URL("../models/demo/", import.meta.url)) : await buildDemoVariant(f, join(tmp, f));
}
const harness = await serveHarness(packages);
const browser = await launchChromium({ webgpu: true, realGpu: values.gpu ?? false });
const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, chromium: browser.version() },
  webgpu_adapter: values.gpu ? "the machine's GPU" : "SwiftShader (software): functional figures, not GPU speed",
  settings: { prompt_tokens: Number(values.prompt), completion_tokens: Number(values.tokens), rounds: Number(values.rounds), lora_rank: 16 },
};
try {
  for (const f of formats) {
    log(`${f}: WebGPU and WASM, ${values.rounds} rounds of ${values.tokens} tokens …`);
    const timings = await harness.call(browser, "timeGeneration", `/pkg/${f}/`, ["webgpu", "wasm"], { rounds: Number(values.rounds), promptTokens: Number(values.prompt), maxTokens: Number(values.tokens), loraRank: 16 });
    const per = (backend: string) => {
      const runs = timings.filter((t) => t.backend === backend && t.round > 0);
      const prefill = median(runs.map((t) => t.prefillMs));
      const tps = median(runs.map((t) => ((t.completionTokens - 1) * 1000) / t.decodeMs));
      return { prefill_ms: Number(prefill.toFixed(1)), decode_tokens_per_s: Number(tps.toFixed(1)) };
    };
    const [gpu, wasm] = [per("webgpu"), per("wasm")];
    result[f] = { webgpu: gpu, wasm, decode_ratio_webgpu_to_wasm: Number((gpu.decode_tokens_per_s / wasm.decode_tokens_per_s).toFixed(3)) };
  }
} finally {
  await browser.close();
  await harness.close();
  await rm(tmp, { recursive: true, force: true });
}
console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
