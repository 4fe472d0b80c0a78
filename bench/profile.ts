/**
 * `npm run bench:profile [-- --model models/smollm2-135m] [-- --threads 1] [-- --steps 24] [-- --prompt 64] [-- --rank 0] [-- --json]`:
 * where a decode step's time goes, from onnxruntime-node's own profiler. One session (the engine's
 * options, `enableProfiling` on) prefills a prompt, then takes decode steps; the profile's kernel
 * events inside the decode runs are summarised per operator type and for the `lm_head` node
 * (bench/profile-summary.ts, shared with bench:profile:wasm). With
 * `--rank r`, a random rank-r adapter on all seven projections is fed. Writes the raw profile under
 * bench/out/profile/. Native CPU only: onnxruntime-web's profiler prints to the console instead.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { cacheDims, groupLayout, io, LORA_GROUPS } from "../src/runtime/manifest.ts";
import { loadModelPackage } from "../src/runtime/model-package.ts";
import { randomFeeds } from "../test/support/feeds.ts";
import { profileTable, summariseProfile, type ProfileEvent } from "./profile-summary.ts";

async function profile(o: { model: string; threads: number; steps: number; prompt: number; rank: number }) {
  const pkg = await loadModelPackage(async (p) => new Uint8Array(await readFile(join(o.model, p))), { verify: false });
  const a = pkg.manifest.architecture;
  const out = resolve("bench/out/profile");
  mkdirSync(out, { recursive: true });
  const before = new Set(readdirSync(out));
  const session = await ort.InferenceSession.create(pkg.graph, {
    externalData: [{ path: pkg.manifest.files.weights.path, data: pkg.weights }],
    graphOptimizationLevel: "all", executionProviders: ["cpu"], intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: "sequential", enableCpuMemArena: true, logSeverityLevel: 3,
    enableProfiling: true, profileFilePrefix: join(out, "ort"),
  });
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < a.num_hidden_layers; l++) for (const name of [io.pastKey(l), io.pastValue(l)]) feeds[name] = new ort.Tensor("float32", new Float32Array(0), cacheDims(a, 0));
  const lora = o.rank > 0 ? randomFeeds(a, o.rank) : undefined;
  for (let l = 0; l < a.num_hidden_layers; l++) {
    for (const g of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(a, g.name);
      const feed = lora?.layers[l]?.[g.name];
      const r = feed?.rank ?? 0;
      feeds[io.loraA(l, g.name)] = new ort.Tensor("float32", feed?.A ?? new Float32Array(0), [K, r]);
      feeds[io.loraB(l, g.name)] = new ort.Tensor("float32", feed?.B ?? new Float32Array(0), [r, N]);
    }
  }
  const step = async (ids: number[]) => {
    feeds[io.inputIds] = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
    feeds[io.logitsToKeep] = new ort.Tensor("int64", BigInt64Array.of(1n), [1]);
    const res = await session.run(feeds);
    for (let l = 0; l < a.num_hidden_layers; l++) [feeds[io.pastKey(l)], feeds[io.pastValue(l)]] = [res[io.presentKey(l)]!, res[io.presentValue(l)]!];
  };
  await step(Array.from({ length: o.prompt }, (_, i) => (i * 13) % (a.vocab_size - 10)));
  const warm = 2;
  for (let s = 0; s < o.steps + warm; s++) await step([(s * 7 + 3) % 200]);
  session.endProfiling(); // writes <prefix>_<date>.json; onnxruntime-node does not return its name
  const written = readdirSync(out).filter((f) => f.startsWith("ort") && !before.has(f));
  if (written.length !== 1) throw new Error(`expected one new profile in ${out}, found ${written.length}`);
  const file = join(out, written[0]!);
  const kept = join(out, `${pkg.manifest.name}-${pkg.manifest.quantization.weights}-${o.threads}t-r${o.rank}.json`);
  renameSync(file, kept);
  const summary = summariseProfile(JSON.parse(readFileSync(kept, "utf8")) as ProfileEvent[], 1 + warm, a.vocab_size);
  await session.release();
  return { model: pkg.manifest.name, format: pkg.manifest.quantization.weights, threads: o.threads, rank: o.rank, prompt_tokens: o.prompt, profile: kept, ...summary };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: "string", default: "models/smollm2-135m" }, threads: { type: "string", default: "1" }, steps: { type: "string", default: "24" }, prompt: { type: "string", default: "64" }, rank: { type: "string", default: "0" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("*/")[0]!.replace(/^\/\*\*\n/, "").replace(/^ \* ?/gm, "") + "\n");
    process.exit(0);
  }
  const r = await profile({ model: values.model!, threads: Number(values.threads), steps: Number(values.steps), prompt: Number(values.prompt), rank: Number(values.rank) });
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(profileTable(`${r.model} ${r.format}, ${r.threads} thread(s), rank ${r.rank}`, r));
    console.log(`raw profile: ${r.profile}`);
  }
}
