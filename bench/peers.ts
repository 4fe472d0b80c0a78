/**
 * `npm run bench:peers [-- --model models/smollm2-135m]`: lora-edge against its peers on the same
 * model, in one run (also part `peers` of `npm run bench`). Setup, once: `npm run bench:peers -- --setup`
 * (see bench/README.md "Peers"). Options:
 *
 *   --model <dir>          lora-edge package (default models/smollm2-135m)
 *   --also <dir,dir>       more packages of the same model in other formats (default: the int8 and
 *                          int4 packages --setup builds in bench/out/peers/, when present)
 *   --transformersjs <dir> transformers.js's export of the model (default bench/out/peers/transformersjs/<name>)
 *   --gguf <file>          the GGUF llama.cpp runs (default: the cached file whose sha256 the package names)
 *   --only speed,memory,http   parts (default all)
 *   --sides wasm,native    speed: which sides run (default both)
 *   --rounds <n> --steps <n>   per format: prompts run by every lane, decode steps per prompt (2, 16)
 *   --out <file>           also write the JSON result there
 *   --json                 one line of JSON on stdout
 *
 * speed: per weight format, one child process holds every lane and runs them interleaved: each
 *   round, every lane prefills the same chat prompt (timed), then the lanes take decode steps in
 *   turn, the first lane rotating, greedy; medians. Lanes: lora-edge on onnxruntime-web WASM
 *   (1 thread, the Worker's engine) and onnxruntime-node (1 and 2 threads), each base and with a
 *   random rank-16 adapter on all seven projections (WASM, native 1 thread); transformers.js on
 *   onnxruntime-web WASM, 1 thread, on its own export in the matching dtype (fp32 / q8 / q4);
 *   llama.cpp (node-llama-cpp) on the GGUF on 1 and 2 threads (the same Q4_1 file in every group:
 *   the yardstick that ties the groups together).
 * memory: each engine alone in a fresh process: load, the same prompt, 32 decode steps; resident
 *   set size (VmRSS) and its peak (VmHWM), and the wasm heap for WASM engines.
 * http: streamed chats through the real Node host on --model (1 thread): time to first token and
 *   decode tokens/s for the base, a cached adapter and a cold one (bench/node.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SMOLLM2, sha256File } from "../src/builder/smollm2.ts";
import { Engine } from "../src/runtime/engine.ts";
import { loadManifest, loadModelPackage, readPackageFile, type ModelPackage } from "../src/runtime/model-package.ts";
import { nodeBackend } from "../src/runtime/node-backend.ts";
import { bytesOf } from "../src/node/package-files.ts";
import { createTokenizer, type ChatTokenizer } from "../src/runtime/tokenizer.ts";
import { wasmHeapBytes } from "../src/runtime/ort.ts";
import { wasmBackend } from "../src/runtime/wasm-backend.ts";
import { randomFeeds } from "../test/support/feeds.ts";
import { engineLane, llamaCppInstalled, llamaCppLane, loadLlamaCpp, transformersJsLane, TRANSFORMERSJS_FILES, type Lane, type TransformersJsDtype } from "./peers/lanes.ts";
import { agreeingPrefix, laneRows, memoryRatio, speedRatios, type LaneTimes, type Ratio } from "./peers/summary.ts";

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), "..");
const OUT = join(REPO, "bench/out/peers");
const log = (msg: string) => process.stderr.write(`bench:peers: ${msg}\n`);

/** transformers.js's dtype for each of lora-edge's weight formats. */
const DTYPE_FOR: Record<string, TransformersJsDtype> = { fp32: "fp32", int8: "q8", int4: "q4" };
/** llama.cpp's context (its KV cache is allocated up front). */
const LLAMA_CONTEXT = 1024;
const MEMORY_STEPS = 32;
const GREEDY_COMPARED = 16;

type Setup = { packageDir: string; format: string; tjsDir?: string; gguf?: string };

const tokenizerOf = (pkg: ModelPackage) => createTokenizer({ tokenizerJson: pkg.tokenizerJson, tokenizerConfig: pkg.tokenizerConfig, generationConfig: pkg.generationConfig });

/** The same chat prompt for every lane, rendered and tokenized by the package's tokenizer. */
function promptIds(tokenizer: ChatTokenizer): number[] {
  return tokenizer.applyChatTemplate(
    [{ role: "user", content: "My parcel was due on Monday and it still has not arrived. The tracking page has said 'in transit' for four days. What should I do, and can I get a refund if it is lost?" }],
    { addGenerationPrompt: true },
  ).ids;
}

/** A package, and how to read its weights again (so that engines can let the JS copy go). */
async function loadPackage(dir: string): Promise<{ pkg: ModelPackage; reread: () => Promise<Uint8Array> }> {
  const read = async (p: string) => bytesOf(await readFile(join(dir, p))); // no copy, as the Node host reads them
  const pkg = await loadModelPackage(read, { verify: false });
  const entry = pkg.manifest.files.weights; // not `pkg`: the closure outlives it
  return { pkg, reread: () => readPackageFile(read, entry) };
}

/** Which engines share a process: WASM ones (#11's comparison) or native ones (#12's); llama.cpp 1 thread in both. */
export type Side = "wasm" | "native";

/** One format, one side: every lane in this process, interleaved step by step. */
async function speedChild(s: Setup, side: Side, rounds: number, steps: number) {
  const lanes: Lane[] = [];
  let tokenizer: ChatTokenizer;
  {
    const { pkg, reread } = await loadPackage(s.packageDir);
    tokenizer = tokenizerOf(pkg);
    const adapter = randomFeeds(pkg.manifest.architecture, 16);
    if (side === "wasm") {
      const wasm = await Engine.create(pkg, { backend: await wasmBackend(), rereadWeights: reread, batching: false });
      lanes.push(engineLane("ours_wasm_1t", wasm), engineLane("ours_wasm_1t_r16", wasm, adapter));
    } else {
      const n1 = await Engine.create(pkg, { backend: nodeBackend({ threads: 1 }), rereadWeights: reread, batching: false });
      const n2 = await Engine.create(pkg, { backend: nodeBackend({ threads: 2 }), rereadWeights: reread, batching: false });
      lanes.push(engineLane("ours_node_1t", n1), engineLane("ours_node_1t_r16", n1, adapter), engineLane("ours_node_2t", n2));
    }
  }
  (globalThis as { gc?: () => void }).gc?.(); // the package's weights in JS: the backends have their own copy
  const dtype = DTYPE_FOR[s.format]!;
  if (s.tjsDir && side === "wasm") lanes.push(await transformersJsLane("transformersjs_wasm_1t", s.tjsDir, dtype));
  if (s.gguf) {
    const model = await loadLlamaCpp(s.gguf);
    lanes.push(await llamaCppLane("llamacpp_1t", model, 1, LLAMA_CONTEXT));
    if (side === "native") lanes.push(await llamaCppLane("llamacpp_2t", model, 2, LLAMA_CONTEXT));
  }
  (globalThis as { gc?: () => void }).gc?.();
  const ids = promptIds(tokenizer);
  const times: Record<string, LaneTimes> = Object.fromEntries(lanes.map((l) => [l.name, { prefill_ms: [], decode_ms: [] }]));
  const greedy: Record<string, number[]> = {};
  for (const lane of lanes) await lane.step(await lane.prefill(ids.slice(0, 8))); // warm-up, untimed: first runs allocate
  for (let round = 0; round < rounds; round++) {
    const next: number[] = [];
    for (const lane of lanes) {
      const t = performance.now();
      next.push(await lane.prefill(ids));
      times[lane.name]!.prefill_ms.push(performance.now() - t);
      if (round === 0) greedy[lane.name] = [next.at(-1)!];
    }
    for (let step = 0; step < steps; step++) {
      for (let j = 0; j < lanes.length; j++) {
        const k = (step + round + j) % lanes.length;
        const lane = lanes[k]!;
        const t = performance.now();
        next[k] = await lane.step(next[k]!);
        const ms = performance.now() - t;
        if (step >= 2) times[lane.name]!.decode_ms.push(ms); // the first steps warm caches and allocators
        if (round === 0) greedy[lane.name]!.push(next[k]!);
      }
    }
    log(`${s.format} ${side}: round ${round + 1}/${rounds} done`);
  }
  for (const lane of lanes) await lane.release();
  const reference = greedy[lanes[0]!.name]!;
  return {
    format: s.format,
    side,
    package: s.packageDir,
    transformersjs: s.tjsDir ? { dir: s.tjsDir, dtype, file: TRANSFORMERSJS_FILES[dtype] } : null,
    gguf: s.gguf ?? null,
    prompt_tokens: ids.length,
    rounds,
    steps,
    lanes: laneRows(times, ids.length),
    ratios: speedRatios(laneRows(times, ids.length)),
    // same model, same greedy text? leading tokens each lane shares with the first lane (lora-edge, no adapter)
    greedy_agreement: Object.fromEntries(Object.entries(greedy).map(([k, v]) => [k, agreeingPrefix(v.slice(0, GREEDY_COMPARED), reference.slice(0, GREEDY_COMPARED))])),
    greedy_text: tokenizer.decode(reference.slice(0, GREEDY_COMPARED)),
    raw: times,
  };
}

/** The process's resident set now and at its peak (Linux /proc). */
function residentBytes(): { rss: number; peak: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

type MemoryKind = "bare" | "ours_wasm_1t" | "ours_node_1t" | "transformersjs_wasm_1t" | "llamacpp_1t";

/** One engine alone: load, the prompt, some decode steps; what the process holds. */
async function memoryChild(kind: MemoryKind, s: Setup) {
  const gc = (globalThis as { gc?: () => void }).gc;
  await wasmBackend(); // every process starts with ORT-web initialised: the floor `bare` reports
  let lane: Lane | undefined;
  let ids: number[] = [];
  if (!kind.startsWith("ours")) {
    // the prompt from the package's tokenizer files alone: a peer's process never holds our weights
    const { manifest } = await loadManifest(async (p) => new Uint8Array(await readFile(join(s.packageDir, p))));
    const json = (entry: { path: string }) => JSON.parse(readFileSync(join(s.packageDir, entry.path), "utf8")) as unknown;
    const f = manifest.files;
    ids = promptIds(createTokenizer({ tokenizerJson: json(f.tokenizer), tokenizerConfig: json(f.tokenizer_config), generationConfig: json(f.generation_config) }));
  } else {
    const { pkg, reread } = await loadPackage(s.packageDir);
    ids = promptIds(tokenizerOf(pkg));
    if (kind === "ours_wasm_1t") lane = engineLane(kind, await Engine.create(pkg, { backend: await wasmBackend(), rereadWeights: reread, batching: false }));
    if (kind === "ours_node_1t") lane = engineLane(kind, await Engine.create(pkg, { backend: nodeBackend({ threads: 1 }), rereadWeights: reread, batching: false }));
  }
  if (kind === "transformersjs_wasm_1t") lane = await transformersJsLane(kind, s.tjsDir!, DTYPE_FOR[s.format]!);
  if (kind === "llamacpp_1t") lane = await llamaCppLane(kind, await loadLlamaCpp(s.gguf!), 1, LLAMA_CONTEXT);
  gc?.();
  const loaded = residentBytes();
  if (lane) {
    let next = await lane.prefill(ids);
    for (let i = 0; i < MEMORY_STEPS; i++) next = await lane.step(next);
  }
  gc?.();
  const after = residentBytes();
  return { kind, format: s.format, rss_after_load: loaded.rss, rss_after_decode: after.rss, peak_rss: after.peak, wasm_heap: kind.includes("wasm") || kind === "bare" ? wasmHeapBytes() : null, tokens: ids.length + MEMORY_STEPS };
}

function child<T>(args: string[]): T {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", SELF, ...args], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"], cwd: REPO });
  return JSON.parse(out.trim().split("\n").pop()!) as T;
}

const setupArgs = (s: Setup) => ["--package", s.packageDir, "--format", s.format, ...(s.tjsDir ? ["--tjs", s.tjsDir] : []), ...(s.gguf ? ["--gguf", s.gguf] : [])];

/** The packages and peer files a run uses, from the options and the defaults --setup makes. */
async function resolveSetups(o: { model: string; also?: string; transformersjs?: string; gguf?: string }): Promise<Setup[]> {
  const main = JSON.parse(readFileSync(join(o.model, "manifest.json"), "utf8")) as { name: string; quantization: { weights: string }; source: { kind: string; sha256?: string } };
  const dirs = [o.model, ...(o.also !== undefined ? o.also.split(",").filter(Boolean) : ["int8", "int4"].map((f) => join(OUT, `${main.name}-${f}`)).filter((d) => existsSync(join(d, "manifest.json"))))];
  const tjsDir = o.transformersjs ?? join(OUT, "transformersjs", main.name);
  let gguf = o.gguf;
  if (!gguf && main.source.kind === "gguf") {
    const cached = join(REPO, "models/.cache", SMOLLM2.file);
    if (main.source.sha256 === SMOLLM2.sha256 && existsSync(cached) && sha256File(cached) === SMOLLM2.sha256) gguf = cached;
  }
  if (!llamaCppInstalled()) log("node-llama-cpp is not installed (npm run bench:peers -- --setup): no llama.cpp lanes");
  else if (!gguf) log("no GGUF for this package (--gguf <file>): no llama.cpp lanes");
  if (!existsSync(join(tjsDir, "onnx"))) log(`no transformers.js export at ${tjsDir} (npm run bench:peers -- --setup): no transformers.js lanes`);
  return dirs.map((dir) => {
    const format = (JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as typeof main).quantization.weights;
    const file = join(tjsDir, "onnx", TRANSFORMERSJS_FILES[DTYPE_FOR[format]!]);
    return { packageDir: dir, format, ...(existsSync(file) ? { tjsDir } : {}), ...(gguf && llamaCppInstalled() ? { gguf } : {}) };
  });
}

type MemoryRow = Awaited<ReturnType<typeof memoryChild>>;

export async function benchPeers(o: { model: string; also?: string; transformersjs?: string; gguf?: string; parts?: ReadonlySet<string>; sides?: readonly Side[]; rounds?: number; steps?: number; out?: string }) {
  const want = (part: string) => !o.parts || o.parts.has(part);
  const setups = await resolveSetups(o);
  const load = [loadavg()[0]];
  const memory: MemoryRow[] = [];
  const memoryRatios: Ratio[] = [];
  let http: Awaited<ReturnType<typeof import("./node.ts").benchHttp>> | undefined;
  const speed: Array<Awaited<ReturnType<typeof speedChild>>> = [];
  const result = () => ({
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
    // the 1-minute load average before and after each part: on a shared machine it says how much absolute figures are worth
    load_average: load,
    llama_context: LLAMA_CONTEXT,
    speed,
    memory,
    memory_ratios: memoryRatios,
    http,
  });
  // a long run keeps what it has measured so far
  const save = () => o.out && writeFileSync(o.out, JSON.stringify(result(), null, 2) + "\n");
  if (want("speed")) {
    for (const s of setups) {
      for (const side of o.sides ?? (["wasm", "native"] as const)) {
        log(`speed: ${s.format} (${s.packageDir}), ${side} engines and llama.cpp interleaved in one process …`);
        speed.push(child<Awaited<ReturnType<typeof speedChild>>>(["--child", "speed", "--side", side, ...setupArgs(s), "--rounds", String(o.rounds ?? 2), "--steps", String(o.steps ?? 16)]));
        load.push(loadavg()[0]);
        save();
      }
    }
  }
  if (want("memory")) {
    log("memory: each engine alone in a fresh process …");
    memory.push(child<MemoryRow>(["--child", "memory", "--kind", "bare", ...setupArgs(setups[0]!)]));
    for (const s of setups) {
      const kinds: MemoryKind[] = ["ours_wasm_1t", "ours_node_1t", ...(s.tjsDir ? ["transformersjs_wasm_1t" as const] : [])];
      const rows = kinds.map((kind) => child<MemoryRow>(["--child", "memory", "--kind", kind, ...setupArgs(s)]));
      memory.push(...rows);
      const [ours, tjs] = [rows.find((r) => r.kind === "ours_wasm_1t")!, rows.find((r) => r.kind === "transformersjs_wasm_1t")];
      if (tjs) memoryRatios.push(memoryRatio(`#11 ${s.format}: lora-edge WASM vs transformers.js WASM, peak resident`, { key: "ours_wasm_1t", bytes: ours.peak_rss }, { key: "transformersjs_wasm_1t", bytes: tjs.peak_rss }));
    }
    if (setups[0]!.gguf) memory.push(child<MemoryRow>(["--child", "memory", "--kind", "llamacpp_1t", ...setupArgs(setups[0]!)]));
    load.push(loadavg()[0]);
    save();
  }
  if (want("http")) {
    log(`http: streamed chats through the Node host on ${o.model} …`);
    const { benchHttp } = await import("./node.ts");
    http = await benchHttp(o.model, 4, 16);
    load.push(loadavg()[0]);
    save();
  }
  return result();
}

function parseSides(list: string): Side[] {
  const sides = list.split(",").filter(Boolean);
  const bad = sides.filter((x) => x !== "wasm" && x !== "native");
  if (bad.length || !sides.length) throw new Error(`--sides takes wasm and/or native, got "${list}"`);
  return sides as Side[];
}

const HELP = readFileSync(SELF, "utf8").split("*/")[0]!.replace(/^\/\*\*\n/, "").replace(/^ \* ?/gm, "");

/** Everything a run needs beyond `npm ci`, made once into ignored folders (bench/README.md "Peers"). */
function setup(model: string) {
  const name = (JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")) as { name: string }).name;
  const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    log(`${cmd} ${args.join(" ")}`);
    execFileSync(cmd, args, { stdio: "inherit", cwd: REPO, env: { ...process.env, ...env } });
  };
  mkdirSync(OUT, { recursive: true });
  run("npm", ["ci", "--prefix", "bench/peers", "--no-audit", "--no-fund"]);
  for (const format of ["int8", "int4"]) run("npm", ["run", "--silent", "model:smollm2", "--", "--format", format, "--out", join(OUT, `${name}-${format}`)]);
  const venv = process.env.LORA_EDGE_PEERS_VENV ?? join(OUT, "venv");
  const python = join(venv, "bin/python");
  if (!existsSync(python)) {
    run(process.env.PYTHON ?? "python3", ["-m", "venv", venv]);
    run(join(venv, "bin/pip"), ["install", "--quiet", "-r", "bench/peers/requirements.txt"]);
  }
  run(python, ["bench/peers/export_transformersjs.py", "--out", join(OUT, "transformersjs", name)]);
}

if (process.argv[1] === SELF) {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "models/smollm2-135m" }, also: { type: "string" }, transformersjs: { type: "string" }, gguf: { type: "string" },
      only: { type: "string" }, sides: { type: "string" }, rounds: { type: "string" }, steps: { type: "string" }, out: { type: "string" }, json: { type: "boolean" }, setup: { type: "boolean" }, help: { type: "boolean", short: "h" },
      // a child's own options
      child: { type: "string" }, side: { type: "string" }, package: { type: "string" }, format: { type: "string" }, tjs: { type: "string" }, kind: { type: "string" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + "\n");
    process.exit(0);
  }
  try {
    if (values.child) {
      const s: Setup = { packageDir: values.package!, format: values.format!, ...(values.tjs ? { tjsDir: values.tjs } : {}), ...(values.gguf ? { gguf: values.gguf } : {}) };
      const result = values.child === "speed" ? await speedChild(s, values.side as Side, Number(values.rounds), Number(values.steps)) : await memoryChild(values.kind as MemoryKind, s);
      // each child's result is also kept on its own, so that an interrupted run loses only what was running
      mkdirSync(join(OUT, "parts"), { recursive: true });
      writeFileSync(join(OUT, "parts", `${values.child}-${values.child === "speed" ? values.side : values.kind}-${s.format}-${Date.now()}.json`), JSON.stringify(result) + "\n");
      console.log(JSON.stringify(result));
      process.exit(0); // llama.cpp's and ORT's threads would keep the child alive
    }
    if (values.setup) {
      setup(values.model!);
      process.exit(0);
    }
    const result = await benchPeers({
      model: values.model!, ...(values.also !== undefined ? { also: values.also } : {}), ...(values.transformersjs ? { transformersjs: values.transformersjs } : {}), ...(values.gguf ? { gguf: values.gguf } : {}),
      ...(values.only ? { parts: new Set(values.only.split(",")) } : {}), ...(values.sides ? { sides: parseSides(values.sides) } : {}), ...(values.rounds ? { rounds: Number(values.rounds) } : {}), ...(values.steps ? { steps: Number(values.steps) } : {}), ...(values.out ? { out: values.out } : {}),
    });
    console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
    process.exit(0);
  } catch (e) {
    console.error(`bench:peers: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
