/**
 * `npm run bench:profile:wasm -- --model <package> [--model …] [--rows 8 --rank 16]`: where a decode
 * step's time goes, from onnxruntime-web's own profiler (WASM, one thread). A child process per
 * package creates the session with `enableProfiling`, prefills `--context` tokens, takes `--steps`
 * decode steps (rank-0 LoRA inputs, as a base request, or one rank-`--rank` adapter) and ends
 * profiling; ORT prints its trace (chrome trace JSON) on the child's stdout, summarised as
 * bench:profile's (bench/profile-summary.ts). Prints a markdown table per package.
 *
 * `--rows N`: also the batched graph's decode step (`model.batch.onnx`, issue 16) at N rows of
 * `--context` past columns each, adapters of rank `--rank` on three rows in four (bench:batching's
 * mix), and a table of both by operator type: what N rows cost against one lone stream, op by op.
 * Read it with the profiler's bias in mind: it times every kernel, and kernels that only copy
 * (`Concat`, `Gather`, `ScatterND`) come out several times what they cost unprofiled (the batched
 * attention's `Concat` of past and new columns: ~10 % of the profiled demo step; removing it took
 * ~1 % off the unprofiled one, bench/README.md); the large products are timed fairly.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { initOrt, ort } from "../src/runtime/ort.ts";
import { batchIo, cacheDims, groupLayout, io, LORA_GROUPS, type ModelManifest } from "../src/runtime/manifest.ts";
import { loraStacks } from "../src/runtime/lora-stacks.ts";
import { randomFeeds, streamMix } from "../test/support/feeds.ts";
import { profileTable, summariseProfile, type DecodeProfile, type ProfileEvent } from "./profile-summary.ts";

type TraceOptions = { context: number; steps: number; rank: number; rows: number };
type Arch = ModelManifest["architecture"];

/**
 * The child: traced decode steps, ORT's traces on stdout. The plain graph (one stream); with `rows`,
 * also the batched graph, in the same process with their steps alternating (a shared machine's
 * drift hits both alike), the plain trace printed first.
 */
async function traceDecode(dir: string, o: TraceOptions) {
  await initOrt();
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as ModelManifest;
  const arch = manifest.architecture;
  const weights = new Uint8Array(manifest.files.weights.parts
    ? Buffer.concat(manifest.files.weights.parts.map((p) => readFileSync(join(dir, p.path))))
    : readFileSync(join(dir, manifest.files.weights.path)));
  const open = (file: string) => ort.InferenceSession.create(new Uint8Array(readFileSync(join(dir, file))), {
    externalData: [{ path: manifest.files.weights.path, data: weights }], graphOptimizationLevel: "all", enableProfiling: true,
  });
  const plain = await open(manifest.files.graph.path);
  const plainStep = await plainDecode(plain, arch, o);
  const batchFile = manifest.files.batch_graph?.path;
  if (o.rows && !batchFile) throw new Error(`${dir} has no batched graph`);
  const batched = o.rows ? await open(batchFile!) : undefined;
  const batchedStep = batched ? await batchedDecode(batched, arch, o) : undefined;
  for (let i = 0; i < o.steps; i++) {
    await plainStep(i);
    await batchedStep?.(i);
  }
  plain.endProfiling();
  batched?.endProfiling();
}

/** The plain graph prefilled with `context` tokens (its first run); returns one decode step. */
async function plainDecode(session: ort.InferenceSession, arch: Arch, o: TraceOptions): Promise<(i: number) => Promise<void>> {
  const feeds: Record<string, ort.Tensor> = {};
  const lora = o.rank ? randomFeeds(arch, o.rank, 200) : undefined;
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    feeds[io.pastKey(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
    feeds[io.pastValue(l)] = new ort.Tensor("float32", new Float32Array(0), cacheDims(arch, 0));
    for (const { name } of LORA_GROUPS) {
      if (!session.inputNames.includes(io.loraA(l, name))) continue;
      const { in: K, out: N } = groupLayout(arch, name);
      const f = lora?.layers[l]?.[name];
      feeds[io.loraA(l, name)] = new ort.Tensor("float32", f?.A ?? new Float32Array(0), [K, f?.rank ?? 0]);
      feeds[io.loraB(l, name)] = new ort.Tensor("float32", f?.B ?? new Float32Array(0), [f?.rank ?? 0, N]);
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
  await step(Array.from({ length: o.context }, (_, i) => 100 + ((i * 13) % 1000)));
  return (i) => step([200 + i]);
}

/**
 * The batched graph at `rows` rows of `context` past columns each, interleaved in one ragged buffer
 * as a running batch's are (random values: speed does not depend on them); one untimed first run
 * stands for the prefill the summary skips. Returns one decode step.
 */
async function batchedDecode(session: ort.InferenceSession, arch: Arch, o: TraceOptions): Promise<(i: number) => Promise<void>> {
  const { rows: B, context: L } = o;
  const KV = arch.num_key_value_heads, hd = arch.head_dim, C = B * (L + o.steps + 1);
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    feeds[io.pastKey(l)] = new ort.Tensor("float32", random(KV * C * hd), [KV, C, hd]);
    feeds[io.pastValue(l)] = new ort.Tensor("float32", random(KV * C * hd), [KV, C, hd]);
  }
  const adapters = streamMix(B, (i) => (o.rank ? randomFeeds(arch, o.rank, 200 + i) : undefined));
  for (const [name, t] of Object.entries(loraStacks(arch, adapters))) feeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
  const rowColumns = BigInt64Array.from({ length: B * L }, (_, i) => BigInt((i % L) * B + Math.floor(i / L))); // row b's column j at j·B + b
  feeds[batchIo.rowColumns] = new ort.Tensor("int64", rowColumns, [B, L]);
  feeds[batchIo.rowLengths] = new ort.Tensor("int64", new BigInt64Array(B).fill(BigInt(L)), [B]);
  feeds[batchIo.positions] = new ort.Tensor("int64", new BigInt64Array(B).fill(BigInt(L)), [B, 1]);
  const step = async (i: number) => {
    feeds[io.inputIds] = new ort.Tensor("int64", BigInt64Array.from({ length: B }, (_, b) => BigInt(200 + b + i)), [B, 1]);
    await session.run(feeds);
  };
  await step(-1);
  return step;
}

type PackageProfile = DecodeProfile & { model: string; scheme: string; context: number; rows: number };

/**
 * The plain graph's decode profile and, with `rows`, the batched graph's, taken in one child process.
 *
 * @example const [lone] = profileDecode("models/smollm2-int8", { context: 64, steps: 16, rank: 0, rows: 0 });
 */
export function profileDecode(dir: string, opts: TraceOptions): [PackageProfile] | [PackageProfile, PackageProfile] {
  const self = fileURLToPath(import.meta.url);
  const args = ["--child", dir, "--context", String(opts.context), "--steps", String(opts.steps), "--rank", String(opts.rank), "--rows", String(opts.rows)];
  const out = execFileSync(process.execPath, ["--import", "tsx", self, ...args], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  const traces = traceArrays(out);
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as ModelManifest;
  // the first run of each session is the prefill (batched: an untimed first step)
  const summary = (trace: ProfileEvent[], rows: number): PackageProfile => ({ model: dir, scheme: manifest.quantization.scheme, context: opts.context, rows, ...summariseProfile(trace, 1, manifest.architecture.vocab_size) });
  if (traces.length !== (opts.rows ? 2 : 1)) throw new Error(`expected ${opts.rows ? 2 : 1} profiler traces from the child, got ${traces.length}`);
  return opts.rows ? [summary(traces[0]!, 0), summary(traces[1]!, opts.rows)] : [summary(traces[0]!, 0)];
}

/** The chrome-trace arrays ORT printed, in order (each starts with a line "[" and ends with a line "]"). */
function traceArrays(out: string): ProfileEvent[][] {
  return [...out.matchAll(/^\[\n\{[\s\S]*?\n\]$/gm)].map((m) => JSON.parse(m[0]) as ProfileEvent[]);
}

/** The int8 matrix products: the plain graph's fused form and the batched graph's per-row one. */
const INT8_PRODUCTS = new Set(["DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger"]);

/**
 * One stream's step against N batched rows', by operator type (kernel ms a step, and the ratio), and
 * the int8 products against everything else. Kernel times only: the wall time here includes copying
 * the caches in as plain tensors every run, which the engine does not.
 */
function compareTable(lone: DecodeProfile, batched: DecodeProfile, rows: number): string {
  const ops = [...new Set([...lone.ops, ...batched.ops].map((o) => o.op))];
  const ms = (p: DecodeProfile, op: string) => p.ops.find((o) => o.op === op)?.ms ?? 0;
  const nodes = (p: DecodeProfile, op: string) => p.ops.find((o) => o.op === op)?.nodes ?? 0;
  const ratio = (a: number, b: number) => (a > 0 ? `${(b / a).toFixed(2)}×` : "—");
  const int8 = (p: DecodeProfile) => p.ops.filter((o) => INT8_PRODUCTS.has(o.op)).reduce((s, o) => s + o.ms, 0);
  const row = (label: string, n: string, a: number, b: number) => `| ${label} | ${n} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${ratio(a, b)} |`;
  return [
    `| op | nodes, lone / ${rows} rows | kernel ms, lone | kernel ms, ${rows} rows | ${rows} rows / lone |`,
    "| --- | ---: | ---: | ---: | ---: |",
    ...ops
      .map((op) => ({ op, a: ms(lone, op), b: ms(batched, op) }))
      .filter((r) => r.a + r.b >= 0.005 * batched.kernel_ms)
      .sort((x, y) => y.b - x.b)
      .map((r) => row(r.op, `${nodes(lone, r.op)} / ${nodes(batched, r.op)}`, r.a, r.b)),
    row("**int8 products**", "", int8(lone), int8(batched)),
    row("**everything else**", "", lone.kernel_ms - int8(lone), batched.kernel_ms - int8(batched)),
    row("**all kernels**", `${lone.nodes_per_step.toFixed(0)} / ${batched.nodes_per_step.toFixed(0)}`, lone.kernel_ms, batched.kernel_ms),
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, child: { type: "string" }, context: { type: "string", default: "64" }, steps: { type: "string", default: "16" }, rank: { type: "string", default: "0" }, rows: { type: "string", default: "0" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  const opts = { context: Number(values.context), steps: Number(values.steps), rank: Number(values.rank), rows: Number(values.rows) };
  if (values.child) await traceDecode(values.child, opts);
  else if (values.help || !values.model?.length) {
    process.stdout.write("Usage: npm run bench:profile:wasm -- --model <package dir> [--model ...] [--context 64] [--steps 16] [--rank 0] [--rows N] [--json]\n");
    process.exit(values.help ? 0 : 1);
  } else {
    const out: string[] = [];
    const all: unknown[] = [];
    for (const m of values.model) {
      const [lone, batched] = profileDecode(m, opts);
      all.push(lone, ...(batched ? [batched] : []));
      out.push(profileTable(`**${lone.model}** (${lone.scheme}), context ${lone.context}${opts.rank ? `, one rank-${opts.rank} adapter` : ""}`, lone));
      if (!batched) continue;
      out.push(profileTable(`**${batched.model}** batched, ${opts.rows} rows of context ${batched.context}${opts.rank ? `, rank-${opts.rank} adapters on three rows in four` : ""}`, batched));
      out.push(`**${m}**: ${opts.rows} batched rows against one lone stream, by operator type (steps interleaved in one process)\n\n${compareTable(lone, batched, opts.rows)}`);
    }
    console.log(values.json ? JSON.stringify(all, null, 2) : out.join("\n\n"));
  }
}
