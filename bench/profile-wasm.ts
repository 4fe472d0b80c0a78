/**
 * `npm run bench:profile:wasm -- --model <package> [--model …]`: where a decode step's time goes, from
 * onnxruntime-web's own profiler (WASM, one thread). A child process per package creates the
 * session with `enableProfiling`, prefills `--context` tokens, takes `--steps` decode steps (rank-0
 * LoRA inputs, as a base request) and ends profiling; ORT prints its trace (chrome trace JSON) on
 * the child's stdout. Per node the median over the steps is kept (a shared machine preempts single
 * runs), then summed per operator type; the `lm_head` is the node that reads the `[hidden, vocab]`
 * table. Prints a markdown table per package.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { initOrt, ort } from "../src/runtime/ort.ts";
import { groupLayout, io, LORA_GROUPS, type ModelManifest } from "../src/runtime/manifest.ts";

type TraceEvent = { cat: string; name: string; dur: number; ts: number; args: { op_name?: string; input_type_shape?: Record<string, number[]>[] } };

export type DecodeProfile = {
  model: string;
  scheme: string;
  steps: number;
  context: number;
  /** median wall time of one `run` (ORT's `model_run` event) */
  run_ms: number;
  /** sum over nodes of each node's median kernel time */
  kernels_ms: number;
  nodes_per_step: number;
  lm_head_ms: number;
  by_op: { op: string; nodes: number; ms: number; share: number }[];
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

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
  const { num_key_value_heads: KV, head_dim: hd } = arch;
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    feeds[io.pastKey(l)] = new ort.Tensor("float32", new Float32Array(0), [KV, 0, hd]);
    feeds[io.pastValue(l)] = new ort.Tensor("float32", new Float32Array(0), [KV, 0, hd]);
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

/** Parse a child's trace: the decode runs only (the first run is the prefill). */
function summarise(model: string, scheme: string, trace: TraceEvent[], context: number, steps: number): DecodeProfile {
  const runs = trace.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts);
  const decodeRuns = runs.slice(1);
  const from = decodeRuns[0]!.ts;
  const nodes = trace.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time") && e.ts >= from);
  const perNode = new Map<string, { op: string; durs: number[]; lmHead: boolean }>();
  for (const e of nodes) {
    const n = perNode.get(e.name) ?? { op: e.args.op_name ?? "?", durs: [], lmHead: JSON.stringify(e.args.input_type_shape ?? []).includes(`,${VOCAB_MARK}]`) };
    n.durs.push(e.dur);
    perNode.set(e.name, n);
  }
  const byOp = new Map<string, { nodes: number; us: number }>();
  let lmHead = 0;
  for (const n of perNode.values()) {
    const m = median(n.durs);
    const o = byOp.get(n.op) ?? { nodes: 0, us: 0 };
    o.nodes++;
    o.us += m;
    byOp.set(n.op, o);
    if (n.lmHead && n.op !== "Gather") lmHead += m;
  }
  const kernels = [...byOp.values()].reduce((a, o) => a + o.us, 0);
  return {
    model, scheme, steps, context,
    run_ms: +(median(decodeRuns.map((r) => r.dur)) / 1000).toFixed(2),
    kernels_ms: +(kernels / 1000).toFixed(2),
    nodes_per_step: Math.round(nodes.length / decodeRuns.length),
    lm_head_ms: +(lmHead / 1000).toFixed(2),
    by_op: [...byOp].map(([op, o]) => ({ op, nodes: o.nodes, ms: +(o.us / 1000).toFixed(3), share: +(o.us / kernels).toFixed(4) })).sort((a, b) => b.ms - a.ms),
  };
}
let VOCAB_MARK = 0;

/**
 * @example const p = await profileDecode("models/smollm2-int8", { context: 64, steps: 16 });
 */
export function profileDecode(dir: string, opts: { context: number; steps: number }): DecodeProfile {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ["--import", "tsx", self, "--child", dir, "--context", String(opts.context), "--steps", String(opts.steps)], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  const trace = JSON.parse(out.slice(out.indexOf("[\n{"), out.lastIndexOf("]") + 1)) as TraceEvent[];
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as ModelManifest;
  VOCAB_MARK = manifest.architecture.vocab_size;
  return summarise(dir, manifest.quantization.scheme, trace, opts.context, opts.steps);
}

/** A profile as a markdown table (op types above 0.5 % of the kernels' time; the rest summed). */
export function profileTable(p: DecodeProfile): string {
  const lines = [
    `**${p.model}** (${p.scheme}): decode step at context ${p.context}, median of ${p.steps} steps: run ${p.run_ms} ms, kernels ${p.kernels_ms} ms, ${p.nodes_per_step} nodes, lm_head ${p.lm_head_ms} ms (${((100 * p.lm_head_ms) / p.kernels_ms).toFixed(1)} %)`,
    "",
    "| operator | nodes | ms | share |",
    "| --- | ---: | ---: | ---: |",
  ];
  const rest = { nodes: 0, ms: 0, share: 0 };
  for (const o of p.by_op) {
    if (o.share >= 0.005) lines.push(`| ${o.op} | ${o.nodes} | ${o.ms.toFixed(2)} | ${(100 * o.share).toFixed(1)} % |`);
    else {
      rest.nodes += o.nodes;
      rest.ms += o.ms;
      rest.share += o.share;
    }
  }
  if (rest.nodes) lines.push(`| (others) | ${rest.nodes} | ${rest.ms.toFixed(2)} | ${(100 * rest.share).toFixed(1)} % |`);
  return lines.join("\n");
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
    console.log(values.json ? JSON.stringify(profiles, null, 2) : profiles.map(profileTable).join("\n\n"));
  }
}
