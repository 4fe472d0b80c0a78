/**
 * `npm run merge` — write a new model package with one adapter (or a weighted set) merged into the
 * base weights and re-quantized: a dedicated single-domain deployment.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { unpackModelPackage } from "../src/builder/unpack.ts";
import { mergeAdapters } from "../src/builder/merge.ts";
import { assembleModelPackage, writeModelPackage } from "../src/builder/package.ts";
import { loadModelPackage } from "../src/runtime/model-package.ts";
import { readBaseWeight } from "../src/runtime/base-weights.ts";
import { loadPeftAdapter } from "../src/adapters/load-peft.ts";
import { prepareAdapter } from "../src/adapters/prepare.ts";
import { WEIGHT_FORMATS, type WeightFormat } from "../src/runtime/manifest.ts";

const HELP = `Usage: npm run merge -- --model <package-dir> --adapter <peft-dir>[:weight] [--adapter …] --out <dir> [options]

Merges PEFT adapters (adapter_config.json + adapter_model.safetensors) into the base weights of a
lora-edge model package and writes a new package (re-quantized).

  --model <dir>       the base model package (e.g. models/demo)
  --adapter <dir>[:w] a PEFT adapter directory, optionally with a weight (default 1); repeatable
  --out <dir>         output package directory
  --format <f>        ${WEIGHT_FORMATS.join(" | ")} (default: the base package's format)
  --name <name>       package name (default: the output directory's name)
  -h, --help          this help
`;

function fail(message: string): never {
  console.error(`merge: ${message}`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({ options: { model: { type: "string" }, adapter: { type: "string", multiple: true }, out: { type: "string" }, format: { type: "string" }, name: { type: "string" }, help: { type: "boolean", short: "h" } } }).values;
} catch (e) {
  fail((e as Error).message);
}
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (!args.model || !args.out || !args.adapter?.length) fail("--model, --adapter and --out are required (see --help)");
const pkg = await loadModelPackage(async (p) => new Uint8Array(readFileSync(join(args.model!, p)))).catch((e) => fail(`${args.model}: ${e.message}`));
const format = (args.format ?? pkg.manifest.quantization.weights) as WeightFormat;
if (!WEIGHT_FORMATS.includes(format)) fail(`--format must be one of ${WEIGHT_FORMATS.join(", ")}`);
const arch = pkg.manifest.architecture;
const adapters = args.adapter.map((spec) => {
  const m = /^(.*?)(?::(-?[\d.]+))?$/.exec(spec)!;
  const dir = m[1]!;
  const weight = m[2] === undefined ? 1 : Number(m[2]);
  try {
    const peft = loadPeftAdapter({ config: readFileSync(join(dir, "adapter_config.json")), weights: new Uint8Array(readFileSync(join(dir, "adapter_model.safetensors"))) }, arch, { maxRank: pkg.manifest.lora.max_rank });
    return { adapter: prepareAdapter(peft, arch, { baseWeight: (l, p) => readBaseWeight(pkg.manifest, pkg.weights, l, p) }), weight };
  } catch (e) {
    return fail(`${dir}: ${(e as Error).message}`);
  }
});
process.stderr.write(`merging ${adapters.length} adapter(s) into ${pkg.manifest.name} …\n`);
const base = unpackModelPackage(pkg);
const merged = mergeAdapters(base.arch, base.weights, adapters);
const name = args.name ?? args.out.split("/").filter(Boolean).pop()!;
const { files, manifest } = assembleModelPackage({
  name, arch: base.arch, weights: merged, format,
  source: { kind: "merged", base: pkg.manifest.name, base_hash: pkg.hash, adapters: args.adapter.map((spec, i) => ({ path: spec.replace(/:[-\d.]+$/, ""), weight: adapters[i]!.weight })) },
  tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: pkg.generationConfig,
});
writeModelPackage(args.out, files);
console.log(JSON.stringify({ out: args.out, name, format, parameters: manifest.parameters, adapters: args.adapter }));
