/**
 * `npm run bench:kernels [-- --backend node|wasm] [-- --runs 30] [-- --rows 1]`: the weight layouts a linear layer
 * can take, one `[M, K] × [K, N]` product (M = `--rows`: 1 for one stream's decode step, the batch
 * width for a batched step) at SmolLM2-135M's shapes, on one thread, side by side in
 * one process (variants interleaved run by run, median CPU time). It is what chose how a GGUF's
 * blocks are carried (src/builder/gguf-checkpoint.ts `carryBlocks`, quantize.ts `splitNibbles`):
 *
 * - `layers`: 8 products `576 → 3072` (SmolLM2's gate|up), summed: fp32 `MatMul`; 4-bit
 *   `MatMulNBits` with float zero points (Q4_1's minimum carried as `-m/d`), with the default zero
 *   point at accuracy_level 0 (fp32 compute) and 4 (int8 activations per block), and both with the
 *   per-block offset product a Q4_1 minimum needs (the input summed per block by a `MatMul`, `Gemm`).
 * - `lm_head`: `576 → 49152`: fp32; 8-bit blocks at accuracy_level 4 and 0; the 8-bit table as two
 *   4-bit halves on a doubled input at level 0 and 4 (plus the offset product).
 *
 * Weights are random (speed does not depend on them).
 */
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as ortNode from "onnxruntime-node";
import { GraphBuilder } from "../src/builder/onnx.ts";
import { initOrt, ort as ortWeb } from "../src/runtime/ort.ts";
import { median } from "./stats.ts";

type Variant = { name: string; build: (g: GraphBuilder, x: string) => string };
const BLOCK = 32;
const random = (n: number, scale: number) => Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * scale);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0);

/** One `MatMulNBits` of random blocks; `offsets` adds the per-block offset product; `repeats` 2 doubles the input. */
function nbits(g: GraphBuilder, x: string, K: number, N: number, o: { bits: 4 | 8; level: 0 | 4; floatZeros?: boolean; offsets?: boolean; repeats?: 2 }): string {
  const rep = o.repeats ?? 1;
  const blocks = K / BLOCK;
  const fed = rep === 2 ? g.op("Concat", [x, x], { axis: -1 }) : x;
  const inputs = [fed, g.initializer(g.fresh("q"), bytes(N * rep * blocks * (BLOCK * o.bits) / 8), [N, rep * blocks, (BLOCK * o.bits) / 8]), g.initializer(g.fresh("s"), random(N * rep * blocks, 0.01), [N * rep * blocks])];
  if (o.floatZeros) inputs.push(g.initializer(g.fresh("z"), random(N * rep * blocks, 8), [N * rep * blocks]));
  const y = g.op("MatMulNBits", inputs, { K: rep * K, N, bits: o.bits, block_size: BLOCK, ...(o.level ? { accuracy_level: o.level } : {}) }, { domain: "com.microsoft" });
  if (!o.offsets) return y;
  const E = new Float32Array(K * blocks);
  for (let k = 0; k < K; k++) E[k * blocks + Math.floor(k / BLOCK)] = 1;
  const sums = g.op("MatMul", [x, g.initializer(g.fresh("e"), E, [K, blocks])]); // as llama-graph.ts does
  return g.op("Gemm", [sums, g.initializer(g.fresh("m"), random(N * blocks, 0.1), [N, blocks]), y], { transB: 1 });
}

const LAYERS = { K: 576, N: 3072, count: 8 };
const HEAD = { K: 576, N: 49152 };
const fp32 = (K: number, N: number) => (g: GraphBuilder, x: string) => g.op("MatMul", [x, g.initializer(g.fresh("w"), random(K * N, 0.05), [K, N])]);
const layers = (one: (g: GraphBuilder, x: string) => string) => (g: GraphBuilder, x: string) => g.op("Sum", Array.from({ length: LAYERS.count }, () => one(g, x)));

const SUITES: Record<string, { K: number; N: number; variants: Variant[] }> = {
  layers: {
    K: LAYERS.K, N: LAYERS.N,
    variants: [
      { name: "fp32 MatMul", build: layers(fp32(LAYERS.K, LAYERS.N)) },
      { name: "4-bit, float zero points (Q4_1 as -m/d), level 0", build: layers((g, x) => nbits(g, x, LAYERS.K, LAYERS.N, { bits: 4, level: 0, floatZeros: true })) },
      { name: "4-bit, default zero point, level 0 (fp32 compute)", build: layers((g, x) => nbits(g, x, LAYERS.K, LAYERS.N, { bits: 4, level: 0 })) },
      { name: "… + per-block offsets (Q4_1 exact)", build: layers((g, x) => nbits(g, x, LAYERS.K, LAYERS.N, { bits: 4, level: 0, offsets: true })) },
      { name: "4-bit, default zero point, level 4 (int8 activations)", build: layers((g, x) => nbits(g, x, LAYERS.K, LAYERS.N, { bits: 4, level: 4 })) },
      { name: "… + per-block offsets", build: layers((g, x) => nbits(g, x, LAYERS.K, LAYERS.N, { bits: 4, level: 4, offsets: true })) },
      { name: "8-bit blocks, level 4", build: layers((g, x) => nbits(g, x, LAYERS.K, LAYERS.N, { bits: 8, level: 4 })) },
    ],
  },
  lm_head: {
    K: HEAD.K, N: HEAD.N,
    variants: [
      { name: "fp32 MatMul", build: fp32(HEAD.K, HEAD.N) },
      { name: "8-bit blocks (Q8_0), level 0", build: (g, x) => nbits(g, x, HEAD.K, HEAD.N, { bits: 8, level: 0 }) },
      { name: "8-bit blocks (Q8_0), level 4", build: (g, x) => nbits(g, x, HEAD.K, HEAD.N, { bits: 8, level: 4 }) },
      { name: "two 4-bit halves + offsets, level 0 (Q8_0 exact)", build: (g, x) => nbits(g, x, HEAD.K, HEAD.N, { bits: 4, level: 0, repeats: 2, offsets: true }) },
      { name: "two 4-bit halves + offsets, level 4", build: (g, x) => nbits(g, x, HEAD.K, HEAD.N, { bits: 4, level: 4, repeats: 2, offsets: true }) },
    ],
  },
};

/** A variant slower than this after its first run is run only three times (8-bit at level 0 takes ~0.2–0.4 s). */
const SLOW_MS = 100;

export async function benchKernels(backend: "node" | "wasm", runs: number, rows = 1) {
  if (backend === "wasm") await initOrt();
  const runtime = (backend === "wasm" ? ortWeb : ortNode) as typeof ortNode;
  const report: Record<string, Array<{ variant: string; cpu_ms: number; vs_fp32: number }>> = {};
  for (const [suite, { K, variants }] of Object.entries(SUITES)) {
    const sessions = [];
    for (const v of variants) {
      const g = new GraphBuilder();
      const x = g.input("x", "float32", [rows, K]);
      g.output(v.build(g, x), "float32", [rows, "N"], "y");
      const { model, weights } = g.serialize({ weightsPath: "w.bin" });
      sessions.push(await runtime.InferenceSession.create(model, { externalData: [{ path: "w.bin", data: weights }], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" }));
    }
    const times: number[][] = variants.map(() => []);
    for (let run = 0; run < runs + 1; run++) {
      for (const [i, session] of sessions.entries()) {
        if (run > 3 && times[i]!.some((t) => t > SLOW_MS)) continue;
        const feeds = { x: new runtime.Tensor("float32", random(rows * K, 1), [rows, K]) };
        const before = process.cpuUsage();
        await session.run(feeds);
        const used = process.cpuUsage(before);
        if (run > 0) times[i]!.push((used.user + used.system) / 1000); // run 0 warms up
      }
    }
    const base = median(times[0]!);
    report[suite] = variants.map((v, i) => ({ variant: v.name, cpu_ms: median(times[i]!), vs_fp32: median(times[i]!) / base }));
    for (const s of sessions) await s.release();
  }
  return report;
}

async function main() {
  const { values } = parseArgs({ options: { backend: { type: "string", default: "node" }, runs: { type: "string", default: "30" }, rows: { type: "string", default: "1" }, json: { type: "boolean" } } });
  const backend = values.backend === "wasm" ? "wasm" : "node";
  const rows = Number(values.rows);
  const report = await benchKernels(backend, Number(values.runs), rows);
  if (values.json) return console.log(JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, backend, rows, report }));
  for (const [suite, variants] of Object.entries(report)) {
    const { K, N } = SUITES[suite]!;
    console.log(`\n${suite}: [${rows}, ${K}] × [${K}, ${N}]${suite === "layers" ? ` × ${LAYERS.count}` : ""}, ${backend === "node" ? "onnxruntime-node" : "onnxruntime-web WASM"}, 1 thread, median CPU ms\n`);
    console.log("| variant | CPU ms | time / fp32 |\n| --- | ---: | ---: |");
    for (const r of variants) console.log(`| ${r.variant} | ${r.cpu_ms.toFixed(2)} | ${r.vs_fp32.toFixed(2)}× |`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
