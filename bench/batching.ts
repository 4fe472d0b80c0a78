/**
 * Heterogeneous batching bench (issue 16): N concurrent streams, each with its own adapter (r=16 on
 * all seven projections; every fourth stream the base), served batched (one decode pass for all,
 * src/runtime/batcher.ts) and one by one (each stream's passes in turn through the ORT queue, the
 * engine before batching), side by side in one process: for each round and each N the two modes run
 * back to back, alternating which goes first. Reports aggregate decode tokens/s and time per output
 * token (p50/p99 of the gaps between a stream's tokens), medians over rounds; and the wall time from
 * the requests' start to the last token (with long prompts the fairer figure: the batcher gives its
 * first stream its first token early, which widens the first-to-last-token window).
 *
 * Models: the demo model (int8, built in memory with the batched graph) on onnxruntime-web's WASM
 * backend (one thread, as in a Worker) and on onnxruntime-node (one thread); SmolLM2-135M on
 * onnxruntime-node when `models/smollm2-135m` exists and has `model.batch.onnx`. Part `worker`: the
 * deployed Worker (bundled, in workerd, the embedded int8 demo) over real HTTP, `BATCHING = "true"`
 * against `"false"` in two Workers side by side, streamed chats with uploaded r=16 adapters.
 *
 * Adapters (`--adapters`): `random` (default), rank `--rank` on all seven projections of every layer
 * with dense fused `B` — heavier than any adapter the project ships, the stress case; or `shipped`:
 * each stream one of the model's shipped adapters (the demo's `models/demo-adapters`, r=4 on the
 * attention projections; SmolLM2's `models/adapters/smollm2`, r=16 on all seven in layers 15–29)
 * with its values redrawn per stream, so every stream's adapter differs while keeping the shipped
 * ranks, targets, layers and zero blocks (the engine lanes; the Worker lane uploads random PEFT
 * adapters of rank `--rank`).
 *
 * `npm run bench:batching -- [--format int8] [--rounds 3] [--tokens 32] [--prompt 32] [--streams 1,2,4,8,16] [--smollm2 models/smollm2-135m] [--threads <n>] [--only demo-wasm,demo-node,smollm2,worker] [--rank 16] [--adapters random|shipped] [--json] [--save bench/results/<file>.json]`
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { assembleModelPackage } from "../src/builder/package.ts";
import { randomLlamaWeights } from "../src/builder/random-weights.ts";
import { buildTokenizer } from "../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../src/builder/corpus.ts";
import { PRESETS } from "../src/builder/presets.ts";
import { Engine } from "../src/runtime/engine.ts";
import type { EngineBackend } from "../src/runtime/backend.ts";
import { WEIGHT_FORMATS, type Architecture, type WeightFormat } from "../src/runtime/manifest.ts";
import { loadModelPackage, type ModelPackage } from "../src/runtime/model-package.ts";
import type { LoraFeeds } from "../src/runtime/lora-feeds.ts";
import { defaultThreads, nodeBackend } from "../src/runtime/node-backend.ts";
import { wasmBackend } from "../src/runtime/wasm-backend.ts";
import { randomFeeds, streamMix } from "../test/support/feeds.ts";
import { startBundledWorker, type BundledWorker } from "../test/support/bundled-worker.ts";
import { uploadRandomAdapter } from "../test/support/http-clients.ts";
import type { ProjectionName } from "../test/reference/hf-checkpoint.ts";
import type { HfConfig } from "../test/reference/llama64.ts";
import { loadPeftAdapter } from "../src/adapters/load-peft.ts";
import { prepareAdapter } from "../src/adapters/prepare.ts";
import { composeAdapters } from "../src/adapters/compose.ts";
import { seededNormal } from "../src/runtime/random.ts";
import { readSeedAdapters, SEED_ADAPTER_DIRS } from "../src/node/seed-adapters.ts";
import { median, quantile } from "./stats.ts";

const STREAMS = [1, 2, 4, 8, 16];
/** Prompt tokens per stream unless `--prompt` says otherwise. */
const PROMPT = 32;
/** What `--only` picks from: the demo model on each backend, SmolLM2 on onnxruntime-node. */
const PARTS: readonly string[] = ["demo-wasm", "demo-node", "smollm2", "worker"];
/** The repository root, which the shipped adapters' folders (`SEED_ADAPTER_DIRS`) are relative to. */
const ROOT = join(import.meta.dirname, "..");

type ModeFigures = { tok_s: number; tpot_p50_ms: number; tpot_p99_ms: number; ttft_p50_ms: number; wall_s: number };
type Row = { streams: number; batched: ModeFigures; one_by_one: ModeFigures };
/** The goal line: medians over rounds, and each round's own ratios (its 8 streams against its lone stream, minutes apart). */
type Goal = { speedup_8_vs_1: number; tpot_8_vs_lone: number; per_round: { speedup_8_vs_1: number[]; tpot_8_vs_lone: number[] } };
type Result = { model: string; backend: string; adapters: string; rows: Row[]; goal: Goal };
type AdapterChoice = { kind: "random"; rank: number } | { kind: "shipped"; dir: string };

type Mode = "batched" | "one_by_one";
type StreamFigures = { tok_s: number; gaps: number[]; ttfts: number[]; wall_s: number };

/**
 * N streams at once, each stamping the time of every token it gets (`stream(i, times)`) → aggregate
 * decode tokens/s (first token to last over all streams), the gaps between a stream's tokens, each
 * stream's time to its first token, and the wall time from the start to the last token.
 */
async function timeStreams(n: number, stream: (i: number, times: number[]) => Promise<void>): Promise<StreamFigures> {
  const start = performance.now();
  const stamps = Array.from({ length: n }, () => [] as number[]);
  await Promise.all(stamps.map((times, i) => stream(i, times)));
  const first = Math.min(...stamps.map((t) => t[0]!));
  const last = Math.max(...stamps.map((t) => t.at(-1)!));
  const decoded = stamps.reduce((s, t) => s + t.length - 1, 0);
  const gaps = stamps.flatMap((t) => t.slice(1).map((x, k) => x - t[k]!));
  return { tok_s: decoded / ((last - first) / 1000), gaps, ttfts: stamps.map((t) => t[0]! - start), wall_s: (last - start) / 1000 };
}

/** N streams at once on `engine`, each with its adapter (or none). */
function runStreams(engine: Engine, adapters: Array<LoraFeeds | undefined>, n: number, tokens: number, vocab: number, prompt = PROMPT): Promise<StreamFigures> {
  return timeStreams(n, async (i, times) => {
    const promptIds = Array.from({ length: prompt }, (_, j) => 3 + ((i * 131 + j * 17) % (vocab - 10)));
    const lora = adapters[i % adapters.length];
    for await (const ev of engine.generate({ promptIds, maxTokens: tokens, stopTokenIds: [], prefillChunk: 128, sampling: { temperature: 1, topK: 0, topP: 1, seed: i }, ...(lora ? { lora } : {}) })) {
      if (ev.type === "token") times.push(performance.now());
    }
  });
}

/**
 * Every round, for each stream count, both modes back to back, alternating which goes first;
 * medians over rounds → the table's rows and the goal line (8 batched streams against a lone stream
 * one by one), also round by round: on a machine whose speed drifts, a round's two figures are
 * minutes apart, the medians' possibly not.
 */
async function measureModes(label: string, run: (mode: Mode, n: number) => Promise<StreamFigures>, o: { rounds: number; streams: number[] }, log: (s: string) => void): Promise<Pick<Result, "rows" | "goal">> {
  const acc = new Map<string, { tok_s: number[]; gaps: number[]; ttfts: number[]; wall_s: number[]; round_tpot: number[] }>();
  for (let r = 0; r < o.rounds; r++) {
    for (const n of o.streams) {
      const modes: Mode[] = r % 2 ? ["one_by_one", "batched"] : ["batched", "one_by_one"];
      for (const mode of modes) {
        const { tok_s, gaps, ttfts, wall_s } = await run(mode, n);
        const key = `${mode}:${n}`;
        const a = acc.get(key) ?? { tok_s: [], gaps: [], ttfts: [], wall_s: [], round_tpot: [] };
        a.tok_s.push(tok_s);
        a.wall_s.push(wall_s);
        a.gaps.push(...gaps);
        a.ttfts.push(...ttfts);
        a.round_tpot.push(median(gaps));
        acc.set(key, a);
        log(`${label} round ${r + 1}/${o.rounds} ${mode} ×${n}: ${tok_s.toFixed(1)} tok/s`);
      }
    }
  }
  const fig = (mode: Mode, n: number): ModeFigures => {
    const a = acc.get(`${mode}:${n}`)!;
    return { tok_s: median(a.tok_s), tpot_p50_ms: median(a.gaps), tpot_p99_ms: quantile(a.gaps, 0.99), ttft_p50_ms: median(a.ttfts), wall_s: median(a.wall_s) };
  };
  const rows = o.streams.map((n) => ({ streams: n, batched: fig("batched", n), one_by_one: fig("one_by_one", n) }));
  const lone = rows[0]!.one_by_one;
  const goalRow = rows.find((r) => r.streams === 8) ?? rows.at(-1)!;
  const at8 = goalRow.batched;
  const [loneRounds, at8Rounds] = [acc.get(`one_by_one:${rows[0]!.streams}`)!, acc.get(`batched:${goalRow.streams}`)!];
  const per_round = {
    speedup_8_vs_1: at8Rounds.tok_s.map((x, r) => x / loneRounds.tok_s[r]!),
    tpot_8_vs_lone: at8Rounds.round_tpot.map((x, r) => x / loneRounds.round_tpot[r]!),
  };
  return { rows, goal: { speedup_8_vs_1: at8.tok_s / lone.tok_s, tpot_8_vs_lone: at8.tpot_p50_ms / lone.tpot_p50_ms, per_round } };
}

async function benchModel(model: string, pkg: ModelPackage, backend: EngineBackend, choice: AdapterChoice, o: { rounds: number; tokens: number; prompt: number; streams: number[] }, log: (s: string) => void): Promise<Result> {
  const { tokens, prompt } = o;
  const arch = pkg.manifest.architecture;
  const engines: Record<Mode, Engine> = { batched: await Engine.create(pkg, { backend, batching: true }), one_by_one: await Engine.create(pkg, { backend, batching: false }) };
  const { adapters, label } = await streamAdapters(arch, choice);
  // warm-up: arenas sized for the widest batch
  await runStreams(engines.batched, adapters, 16, 4, arch.vocab_size);
  await runStreams(engines.one_by_one, adapters, 2, 4, arch.vocab_size);
  const measured = await measureModes(`${model} ${backend.name}`, (mode, n) => runStreams(engines[mode], adapters, n, tokens, arch.vocab_size, prompt), o, log);
  return { model, backend: backend.name, adapters: label, ...measured };
}

/**
 * Sixteen streams' adapters in the benches' mix (`streamMix`): random rank-r feeds (rank 0: all the
 * base), or the shipped adapters in `dir` (the folder `npm start` seeds from, relative to the
 * repository; PEFT files prepared as the registry prepares them) taken in turn with their non-zero
 * values redrawn per stream at each tensor's own spread.
 */
async function streamAdapters(arch: Architecture, choice: AdapterChoice): Promise<{ adapters: Array<LoraFeeds | undefined>; label: string }> {
  if (choice.kind === "random") {
    const { rank } = choice;
    const adapters = streamMix(16, (i) => (rank ? randomFeeds(arch, rank, 200 + i) : undefined));
    return { adapters, label: rank ? `random, rank ${rank} on all seven projections of every layer, on three streams in four` : "none" };
  }
  const files = await readSeedAdapters(join(ROOT, choice.dir));
  if (!files.length) throw new Error(`${choice.dir} holds no PEFT adapter`);
  const shipped = files.map((f) => composeAdapters(arch, [{ adapter: prepareAdapter(loadPeftAdapter({ config: f.config, weights: new Uint8Array(f.weights) }, arch), arch), weight: 1 }]));
  const adapters = streamMix(16, (i) => redrawn(shipped[i % shipped.length]!, 200 + i));
  return { adapters, label: `shipped shapes (${files.map((f) => f.domain).join(", ")} in ${choice.dir}), redrawn per stream, on three streams in four` };
}

/** The same feeds with every non-zero value drawn anew, N(0, σ) with σ each array's own RMS: shapes, ranks and zero blocks kept. */
function redrawn(feeds: LoraFeeds, seed: number): LoraFeeds {
  const normal = seededNormal(seed);
  const redraw = (a: Float32Array) => {
    const sigma = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / Math.max(1, a.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)));
    return a.map((v) => (v === 0 ? 0 : sigma * normal()));
  };
  return { dora: feeds.dora, layers: feeds.layers.map((layer) => Object.fromEntries(Object.entries(layer).map(([g, f]) => [g, { ...f!, A: redraw(f!.A), B: redraw(f!.B) }]))) };
}

/** N streamed chats at once through a Worker's HTTP API; a content chunk is a token. */
function runStreamsHttp(url: URL, models: string[], n: number, tokens: number): Promise<StreamFigures> {
  return timeStreams(n, async (i, times) => {
    const body = { model: models[i % models.length], messages: [{ role: "user", content: `Customer ${i} writes: my order ${1000 + i} arrived damaged and the box was open, what should I do next and how long will the refund take?` }], stream: true, max_tokens: tokens, temperature: 1, seed: i };
    const res = await fetch(new URL("/v1/chat/completions", url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`chat: ${res.status} ${await res.text()}`);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (let r; !(r = await reader.read()).done; ) {
      buf += dec.decode(r.value, { stream: true });
      for (let nl; (nl = buf.indexOf("\n\n")) >= 0; buf = buf.slice(nl + 2)) {
        const event = buf.slice(0, nl);
        if (event.includes('"content":"') && !event.includes('"content":""')) times.push(performance.now());
      }
    }
  });
}

/** The bundled Worker with batching on and off, side by side: same adapters, same streams, modes alternating first. */
async function benchWorker(o: { rounds: number; tokens: number; rank: number; streams: number[] }, log: (s: string) => void): Promise<Result> {
  const token = "bench-token";
  const manifest = JSON.parse(readFileSync(join(import.meta.dirname, "../models/demo/manifest.json"), "utf8")) as { architecture: HfConfig };
  const targets: ProjectionName[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
  const workers: Record<Mode, BundledWorker> = {
    batched: await startBundledWorker({ vars: { ADMIN_TOKEN: token, BATCHING: "true", STREAM_IDLE_TIMEOUT_MS: "600000" } }),
    one_by_one: await startBundledWorker({ vars: { ADMIN_TOKEN: token, BATCHING: "false", STREAM_IDLE_TIMEOUT_MS: "600000" } }),
  };
  try {
    // three streams in four carry an adapter, as in the engine lanes (rank 0: every stream the base, nothing uploaded)
    const names = o.rank === 0 ? [] : Array.from({ length: 6 }, (_, i) => `bench${i}`);
    for (const w of Object.values(workers)) {
      for (const [i, name] of names.entries()) {
        const res = await uploadRandomAdapter(w.url, token, name, manifest.architecture, { r: o.rank, targets, seed: 900 + i, std: 0.05 });
        if (res.status !== 201) throw new Error(`adapter upload: ${res.status} ${await res.text()}`);
      }
    }
    const models = streamMix(16, (i) => names[i % names.length]).map((name) => name ?? "base");
    for (const w of Object.values(workers)) await runStreamsHttp(w.url, models, 8, 4); // warm-up: engines, adapters cached
    const measured = await measureModes("worker", (mode, n) => runStreamsHttp(workers[mode].url, models, n, o.tokens), o, log);
    const adapters = o.rank ? `random PEFT uploads, rank ${o.rank} on all seven projections, on three streams in four` : "none";
    return { model: "demo (int8, embedded) through the Worker's HTTP API (its own chat prompt, not --prompt)", backend: "workerd", adapters, ...measured };
  } finally {
    for (const w of Object.values(workers)) await w.dispose();
  }
}

function demoPackage(format: WeightFormat): Promise<ModelPackage> {
  const arch: Architecture = { family: "llama", model_type: "llama", ...PRESETS.demo! };
  const tok = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: arch.vocab_size });
  const { files } = assembleModelPackage({
    name: "demo", arch, weights: randomLlamaWeights(arch, 1), format, source: { kind: "random", seed: 1 }, batch: true,
    tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig, generationConfig: {},
  });
  return loadModelPackage(async (p) => files[p]!, { verify: false });
}

function table(r: Result): string {
  const f = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
  const lines = [
    `### ${r.model} on ${r.backend}`,
    "",
    `Adapters: ${r.adapters}.`,
    "",
    "| streams | batched tok/s | one by one tok/s | batched / one by one | batched TPOT p50 / p99 ms | one by one TPOT p50 / p99 ms | TTFT p50 ms, batched / one by one | wall s, batched / one by one |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...r.rows.map((x) => `| ${x.streams} | ${f(x.batched.tok_s)} | ${f(x.one_by_one.tok_s)} | ${(x.batched.tok_s / x.one_by_one.tok_s).toFixed(2)}× | ${f(x.batched.tpot_p50_ms)} / ${f(x.batched.tpot_p99_ms)} | ${f(x.one_by_one.tpot_p50_ms)} / ${f(x.one_by_one.tpot_p99_ms)} | ${f(x.batched.ttft_p50_ms)} / ${f(x.one_by_one.ttft_p50_ms)} | ${x.batched.wall_s.toFixed(2)} / ${x.one_by_one.wall_s.toFixed(2)} |`),
    "",
    `Goal: ${r.rows.some((x) => x.streams === 8) ? 8 : r.rows.at(-1)!.streams} batched streams vs one lone stream (one by one): aggregate ${r.goal.speedup_8_vs_1.toFixed(2)}× (target ≥ 4×), TPOT p50 ${r.goal.tpot_8_vs_lone.toFixed(2)}× (target ≤ 2×); round by round ${r.goal.per_round.speedup_8_vs_1.map((x) => x.toFixed(2) + "×").join(", ")} and ${r.goal.per_round.tpot_8_vs_lone.map((x) => x.toFixed(2) + "×").join(", ")}.`,
    "",
  ];
  return lines.join("\n");
}

async function main() {
  const { values: args } = parseArgs({ options: { format: { type: "string" }, smollm2: { type: "string" }, threads: { type: "string" }, rounds: { type: "string" }, tokens: { type: "string" }, prompt: { type: "string" }, streams: { type: "string" }, rank: { type: "string" }, adapters: { type: "string" }, only: { type: "string" }, json: { type: "boolean" }, save: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (args.help) return void process.stdout.write("Usage: npm run bench:batching -- [--format int8|fp32|int4] [--rounds 3] [--tokens 32] [--prompt 32] [--streams 1,2,4,8,16] [--smollm2 <package dir>] [--threads <n>] [--only demo-wasm,demo-node,smollm2,worker] [--rank 16] [--adapters random|shipped] [--json] [--save <file.json>]\n");
  const rounds = Number(args.rounds ?? 3);
  const tokens = Number(args.tokens ?? 32);
  const rank = Number(args.rank ?? 16);
  const prompt = Number(args.prompt ?? PROMPT);
  const streams = args.streams ? args.streams.split(",").map(Number) : STREAMS;
  if (!(streams[0] === 1 && streams.every((n) => Number.isInteger(n) && n >= 1))) throw new Error("--streams must list stream counts starting with 1 (the lone stream every ratio is against)");
  if (!(Number.isInteger(prompt) && prompt >= 1)) throw new Error("--prompt must be an integer ≥ 1");
  const threads = Number(args.threads ?? defaultThreads());
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error("--threads must be an integer ≥ 1");
  const o = { rounds, tokens, rank, prompt, streams };
  if (!(Number.isInteger(rank) && rank >= 0)) throw new Error("--rank must be an integer ≥ 0");
  const adapterKind = args.adapters ?? "random";
  if (adapterKind !== "random" && adapterKind !== "shipped") throw new Error("--adapters must be random or shipped");
  const choice = (shippedDir: string): AdapterChoice => (adapterKind === "shipped" ? { kind: "shipped", dir: shippedDir } : { kind: "random", rank });
  if (!(rounds >= 1 && tokens >= 2)) throw new Error("--rounds must be ≥ 1 and --tokens ≥ 2");
  const log = (s: string) => process.stderr.write(s + "\n");
  const results: Result[] = [];
  const format = (args.format ?? "int8") as WeightFormat;
  if (!WEIGHT_FORMATS.includes(format)) throw new Error(`--format must be one of ${WEIGHT_FORMATS.join(", ")}`);
  const parts = new Set(args.only?.split(",") ?? PARTS);
  const unknown = [...parts].filter((x) => !PARTS.includes(x));
  if (unknown.length) throw new Error(`--only takes ${PARTS.join(", ")}, got ${unknown.join(", ")}`);
  const demo = parts.has("demo-wasm") || parts.has("demo-node") ? await demoPackage(format) : undefined;
  if (demo && parts.has("demo-wasm")) results.push(await benchModel(`demo (${format})`, demo, await wasmBackend(), choice(SEED_ADAPTER_DIRS.demo!), o, log));
  if (demo && parts.has("demo-node")) results.push(await benchModel(`demo (${format})`, demo, nodeBackend({ threads: 1 }), choice(SEED_ADAPTER_DIRS.demo!), o, log));
  const smol = args.smollm2 ?? join(import.meta.dirname, "../models/smollm2-135m");
  if (parts.has("smollm2") && !existsSync(join(smol, "model.batch.onnx"))) log(`${smol} has no model.batch.onnx: SmolLM2 skipped (npm run model:smollm2 builds it)`);
  else if (parts.has("smollm2")) {
    const pkg = await loadModelPackage(async (p) => new Uint8Array(readFileSync(join(smol, p))));
    results.push(await benchModel(`SmolLM2-135M (${pkg.manifest.quantization.weights}, ${threads} thread${threads > 1 ? "s" : ""})`, pkg, nodeBackend({ threads }), choice(SEED_ADAPTER_DIRS["smollm2-135m"]!), o, log));
  }
  if (parts.has("worker")) results.push(await benchWorker(o, log));
  const machine = `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const out = { date: new Date().toISOString(), machine, load_average: loadavg(), rounds, tokens_per_stream: tokens, prompt_tokens: prompt, adapter_rank: rank, adapters: adapterKind, results };
  if (args.save) writeFileSync(args.save, JSON.stringify(out, null, 2) + "\n");
  if (args.json) process.stdout.write(JSON.stringify(out) + "\n");
  else process.stdout.write(`Run ${out.date} on ${machine}; ${rounds} rounds, ${tokens} tokens per stream, ${prompt}-token prompts.\n\n` + results.map(table).join("\n"));
}

main().catch((err) => {
  process.stderr.write(`bench:batching: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
