/**
 * `npm run bench:profile:wasm -- --model <package> [--model …]`: where a decode step's time goes, from
 * onnxruntime-web's own profiler (WASM, one thread). A child process per package creates the
 * session with `enableProfiling`, prefills `--context` tokens, takes `--steps` decode steps (rank-0
 * LoRA inputs, as a base request) and ends profiling; ORT prints its trace (chrome trace JSON) on
 * the child's stdout, summarised as bench:profile's (bench/profile-summary.ts). Prints a markdown
 * table per package.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { initOrt, ort } from "../src/runtime/ort.ts";
import { cacheDims, groupLayout, io, LORA_GROUPS, type ModelManifest } from "../src/runtime/manifest.ts";
import { profileTable, summariseProfile, type DecodeProfile, type ProfileEvent } from "./profile-summary.ts";

/** The child: one traced decode, ORT's trace on stdout. */
async function traceDecode(dir: string, context: number, steps: number) {
  await initOrt();
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as ModelManifest;
  const arch = manifest.architecture;
  const weights = manifest.files.weights.parts
    ? Buffer.concat(manifest.files.weights.parts.map((p) => readFileSync(join(dir, p.path))))
    : readFileSync(join(dir, manifest.files.weights.path));
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(dir, manifest.files.graph.path))), {
    externalData: [{ path: manifest.files.weights.path, data: new Uint8Array(weights) }], graphOptimizationLevel: "all", enableProfiling: true,
  });
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    feeds[io.pastKey(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
    feeds[io.pastValue(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
    for (const { name } of LORA_GROUPS) {
      if (!session.inputNames.includes(io.loraA(l, name))) continue;
      const { in: K, out: N } = groupLayout(arch, name);
      feeds[io.loraA(l, name)] = new ort.Tensor("float32", new Float32Array(0), [K, 0]);
      feeds[io.loraB(l, name)] = new ort.Tensor("float32", new Float32Array(0), [0, N]);
    }
  }
  feeds[io.logitsToKeep] = new ort.Tensor("int64", BigInt64Array.of(1n), [1]);
  const step = async (ids: number[]) => {
    feeds[io.inputIds] = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
    const out = await session.run(feeds);
    for (let l = 0; l < arch.num_hidden_layers; l++) {
      feeds[io.pastKey(l)] = out[io.presentKey(l)]!;
      feeds[io.pastValue(l)] = out[io.presentValue(l)]!;
    }
  };
  await step(Array.from({ length: context }, (_, i) => 100 + ((i * 13) % 1000)));
  for (let i = 0; i < steps; i++) await step([200 + i]);
  session.endProfiling();
}

/**
 * @example const p = profileDecode("models/smollm2-int8", { context: 64, steps: 16 });
 */
export function profileDecode(dir: string, opts: { context: number; steps: number }): DecodeProfile & { model: string; scheme: string; context: number } {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ["--import", "tsx", self, "--child", dir, "--context", String(opts.context), "--steps", String(opts.steps)], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  const trace = JSON.parse(out.slice(out.indexOf("[\n{"), out.lastIndexOf("]") + 1)) as ProfileEvent[];
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as ModelManifest;
  // the first run is the prefill
  return { model: dir, scheme: manifest.quantization.scheme, context: opts.context, ...summariseProfile(trace, 1, manifest.architecture.vocab_size) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, child: { type: "string" }, context: { type: "string", default: "64" }, steps: { type: "string", default: "16" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  const opts = { context: Number(values.context), steps: Number(values.steps) };
  if (values.child) await traceDecode(values.child, opts.context, opts.steps);
  else if (values.help || !values.model?.length) {
    process.stdout.write("Usage: npm run bench:profile:wasm -- --model <package dir> [--model ...] [--context 64] [--steps 16] [--json]\n");
    process.exit(values.help ? 0 : 1);
  } else {
    const profiles = values.model.map((m) => profileDecode(m, opts));
    console.log(values.json ? JSON.stringify(profiles, null, 2) : profiles.map((p) => profileTable(`**${p.model}** (${p.scheme}), context ${p.context}`, p)).join("\n\n"));
  }
}
