/**
 * `npm run bench:decode -- --model <package> --model <package> …`: decode speed of whole model
 * packages side by side in one process, onnxruntime-web WASM on one thread (as in a Worker), each
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
import { randomFeeds } from "../test/support/feeds.ts";

export type DecodeFigures = {
  model: string;
  scheme: string;
  weight_bytes: number;
  decode_ms_rank0: number;
  decode_tokens_per_s: number;
  decode_ms_r16: number;
  r16_overhead: number;
  /** the first package's rank-0 step time over this one's: > 1 is faster */
  speedup_vs_first: number;
};

/**
 * @example const rows = await benchDecode(["models/smollm2-int8", "models/smollm2-135m"], { prompt: 64, steps: 48 });
 */
export async function benchDecode(dirs: string[], opts: { prompt: number; steps: number }): Promise<DecodeFigures[]> {
  const engines: Engine[] = [];
  for (const dir of dirs) engines.push(await Engine.create(await loadModelPackage(async (p) => new Uint8Array(readFileSync(join(dir, p))))));
  const arch = engines[0]!.manifest.architecture;
  const prompt = Array.from({ length: opts.prompt }, (_, i) => 100 + ((i * 13) % 1000));
  const r16 = randomFeeds(arch, 16);
  const lanes: Lane[] = engines.flatMap((engine) => [{ engine }, { engine, lora: r16 }]);
  const times = await timeLanes(lanes, prompt, opts.steps);
  const first = times[0]!.stepMs;
  return engines.map((e, i) => {
    const r0 = times[2 * i]!.stepMs;
    const r16ms = times[2 * i + 1]!.stepMs;
    return {
      model: dirs[i]!, scheme: e.manifest.quantization.scheme, weight_bytes: e.manifest.files.weights.bytes,
      decode_ms_rank0: +r0.toFixed(2), decode_tokens_per_s: +(1000 / r0).toFixed(2), decode_ms_r16: +r16ms.toFixed(2),
      r16_overhead: +(r16ms / r0 - 1).toFixed(4), speedup_vs_first: +(first / r0).toFixed(3),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, prompt: { type: "string", default: "64" }, steps: { type: "string", default: "48" }, help: { type: "boolean", short: "h" } } });
  if (values.help || !values.model?.length) {
    process.stdout.write("Usage: npm run bench:decode -- --model <package dir> [--model ...] [--prompt 64] [--steps 48]\n");
    process.exit(values.help ? 0 : 1);
  }
  const rows = await benchDecode(values.model, { prompt: Number(values.prompt), steps: Number(values.steps) });
  console.log(JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, runtime: "onnxruntime-web WASM, 1 thread", prompt: Number(values.prompt), steps: Number(values.steps), rows }, null, 2));
}
