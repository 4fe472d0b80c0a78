/**
 * `npm run bench:decode -- --model <package> --model <package> … [--backend node]`: decode speed of
 * whole model packages side by side in one process, onnxruntime-web WASM on one thread (as in a
 * Worker; or onnxruntime-node on one thread), each
 * at rank 0 and with a random rank-16 adapter on all seven projections. The lanes take decode steps
 * in turn (bench/engine.ts `timeLanes`), so a shared machine's load hits every package alike: the
 * ratios to the first package are the figures, not the absolute speeds.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { timeLanes, type Lane } from "./engine.ts";
import { Engine } from "../src/runtime/engine.ts";
import { loadModelPackage } from "../src/runtime/model-package.ts";
import { nodeBackend } from "../src/runtime/node-backend.ts";
import { randomFeeds } from "../test/support/feeds.ts";

export type DecodeFigures = {
  model: string;
  scheme: string;
  weight_bytes: number;
  /** median wall time of a step */
  decode_ms_rank0: number;
  decode_tokens_per_s: number;
  decode_ms_r16: number;
  /** median CPU time of a step (one thread: what it costs on an idle core) */
  decode_cpu_ms_rank0: number;
  decode_cpu_ms_r16: number;
  r16_overhead: number;
  r16_overhead_cpu: number;
  /** the first package's rank-0 step time over this one's: > 1 is faster (wall, and CPU time) */
  speedup_vs_first: number;
  speedup_vs_first_cpu: number;
};

/**
 * @example const rows = await benchDecode(["models/smollm2-int8", "models/smollm2-135m"], { prompt: 64, steps: 48 });
 */
export async function benchDecode(dirs: string[], opts: { prompt: number; steps: number; backend?: "wasm" | "node" }): Promise<DecodeFigures[]> {
  const engines: Engine[] = [];
  for (const dir of dirs) {
    const pkg = await loadModelPackage(async (p) => new Uint8Array(readFileSync(join(dir, p))));
    engines.push(await Engine.create(pkg, opts.backend === "node" ? { backend: nodeBackend({ threads: 1 }) } : {}));
  }
  const arch = engines[0]!.manifest.architecture;
  const prompt = Array.from({ length: opts.prompt }, (_, i) => 100 + ((i * 13) % 1000));
  const r16 = randomFeeds(arch, 16);
  const lanes: Lane[] = engines.flatMap((engine) => [{ engine }, { engine, lora: r16 }]);
  const times = await timeLanes(lanes, prompt, opts.steps);
  const first = times[0]!;
  return engines.map((e, i) => {
    const r0 = times[2 * i]!;
    const r16 = times[2 * i + 1]!;
    return {
      model: dirs[i]!, scheme: e.manifest.quantization.scheme, weight_bytes: e.manifest.files.weights.bytes,
      decode_ms_rank0: +r0.stepMs.toFixed(2), decode_tokens_per_s: +(1000 / r0.stepMs).toFixed(2), decode_ms_r16: +r16.stepMs.toFixed(2),
      decode_cpu_ms_rank0: +r0.stepCpuMs.toFixed(2), decode_cpu_ms_r16: +r16.stepCpuMs.toFixed(2),
      r16_overhead: +(r16.stepMs / r0.stepMs - 1).toFixed(4), r16_overhead_cpu: +(r16.stepCpuMs / r0.stepCpuMs - 1).toFixed(4),
      speedup_vs_first: +(first.stepMs / r0.stepMs).toFixed(3), speedup_vs_first_cpu: +(first.stepCpuMs / r0.stepCpuMs).toFixed(3),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, prompt: { type: "string", default: "64" }, steps: { type: "string", default: "48" }, backend: { type: "string", default: "wasm" }, help: { type: "boolean", short: "h" } } });
  if (values.help || !values.model?.length) {
    process.stdout.write("Usage: npm run bench:decode -- --model <package dir> [--model ...] [--prompt 64] [--steps 48] [--backend wasm|node]\n");
    process.exit(values.help ? 0 : 1);
  }
  const backend = values.backend === "node" ? "node" : "wasm";
  const rows = await benchDecode(values.model, { prompt: Number(values.prompt), steps: Number(values.steps), backend });
  console.log(JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, runtime: backend === "node" ? "onnxruntime-node, 1 thread" : "onnxruntime-web WASM, 1 thread", prompt: Number(values.prompt), steps: Number(values.steps), rows }, null, 2));
}
