/**
 * `npx tsx bench/lora-factors.ts`: what an r=16 LoRA side path costs on onnxruntime-node (one thread)
 * with its factors as fp32 feeds (the engine's `MatMul` + `Gemm`) against uint8 feeds with per-column
 * scales through `DynamicQuantizeMatMul` (zero point 128, the kernel that is exact on AVX2), and against
 * no side path, in one process, passes interleaved. The graph is a stand-in, not the engine's: 30
 * layers of SmolLM2's four projection groups (q|k|v 576→960 at rank 48, o 576→576 at 16, gate|up
 * 576→3072 at 32, down 1536→576 at 16) on an int8 base of ~106 MB (about the int4 package's bytes), so
 * the factors compete with the base for cache as in a decode step. Medians of 55 passes.
 *
 * Asked for #12 (session 11): would factors in a quarter of the bytes make the r=16 cost small?
 * No: on the AMD EPYC (AVX2) uint8 factors cost +37–48 % over no side path, fp32 +28–31 %. Factors
 * that change per request are not prepacked, and the int8 kernel quantizes and packs per call.
 */
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../src/builder/onnx.ts";
const L = 30, D = 576, I = 1536;
const groups = [{ n: "qkv", K: D, N: 960, r: 48 }, { n: "o", K: D, N: D, r: 16 }, { n: "gu", K: D, N: 2 * I, r: 32 }, { n: "down", K: I, N: D, r: 16 }] as const;
let seed = 1; const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
function build(mode: "none" | "fp32" | "u8") {
  const g = new GraphBuilder();
  let h = g.input("x", "float32", [1, D]);
  const zp = (n: number) => g.initializer(g.fresh("zp"), new Uint8Array(n).fill(128), [n], { external: false });
  const group = (x: string, l: number, gr: (typeof groups)[number]) => {
    const W = g.initializer(`w${l}${gr.n}`, Uint8Array.from({ length: gr.K * gr.N }, () => Math.floor(rnd() * 256)), [gr.K, gr.N]);
    const s = g.initializer(`s${l}${gr.n}`, Float32Array.from({ length: gr.N }, () => 1e-3), [gr.N]);
    const base = g.op("DynamicQuantizeMatMul", [x, W, s, zp(gr.N)], {}, { domain: "com.microsoft" });
    if (mode === "none") return base;
    if (mode === "fp32") {
      const A = g.input(`A${l}${gr.n}`, "float32", [gr.K, gr.r]); const B = g.input(`B${l}${gr.n}`, "float32", [gr.r, gr.N]);
      return g.op("Gemm", [g.op("MatMul", [x, A]), B, base]);
    }
    const A = g.input(`A${l}${gr.n}`, "uint8", [gr.K, gr.r]); const As = g.input(`As${l}${gr.n}`, "float32", [gr.r]);
    const B = g.input(`B${l}${gr.n}`, "uint8", [gr.r, gr.N]); const Bs = g.input(`Bs${l}${gr.n}`, "float32", [gr.N]);
    const t = g.op("DynamicQuantizeMatMul", [x, A, As, zp(gr.r)], {}, { domain: "com.microsoft" });
    return g.op("Add", [base, g.op("DynamicQuantizeMatMul", [t, B, Bs, zp(gr.N)], {}, { domain: "com.microsoft" })]);
  };
  const first = (y: string, n: number) => g.op("Slice", [y, g.i64([0]), g.i64([n]), g.i64([1])]);
  for (let l = 0; l < L; l++) {
    const h2 = g.op("Add", [h, first(group(h, l, groups[0]), D)]);
    const h3 = g.op("Add", [h2, group(h2, l, groups[1])]);
    const u = first(group(h3, l, groups[2]), I);
    h = g.op("Add", [h3, g.op("Mul", [group(u, l, groups[3]), g.f32([1e-3], [])])]);
  }
  g.output(h, "float32", [1, D], "y");
  return g.serialize({ weightsPath: "w.bin" });
}
const feeds = (mode: string) => {
  const f: Record<string, ort.Tensor> = { x: new ort.Tensor("float32", Float32Array.from({ length: D }, () => rnd() - 0.5), [1, D]) };
  for (let l = 0; l < L; l++) for (const gr of groups) {
    if (mode === "fp32") {
      f[`A${l}${gr.n}`] = new ort.Tensor("float32", Float32Array.from({ length: gr.K * gr.r }, () => (rnd() - 0.5) * 0.01), [gr.K, gr.r]);
      f[`B${l}${gr.n}`] = new ort.Tensor("float32", Float32Array.from({ length: gr.r * gr.N }, () => (rnd() - 0.5) * 0.01), [gr.r, gr.N]);
    } else if (mode === "u8") {
      f[`A${l}${gr.n}`] = new ort.Tensor("uint8", Uint8Array.from({ length: gr.K * gr.r }, () => Math.floor(rnd() * 256)), [gr.K, gr.r]);
      f[`As${l}${gr.n}`] = new ort.Tensor("float32", new Float32Array(gr.r).fill(1e-4), [gr.r]);
      f[`B${l}${gr.n}`] = new ort.Tensor("uint8", Uint8Array.from({ length: gr.r * gr.N }, () => Math.floor(rnd() * 256)), [gr.r, gr.N]);
      f[`Bs${l}${gr.n}`] = new ort.Tensor("float32", new Float32Array(gr.N).fill(1e-4), [gr.N]);
    }
  }
  return f;
};
const modes = ["none", "fp32", "u8"] as const;
const sessions: Record<string, { s: ort.InferenceSession; f: Record<string, ort.Tensor> }> = {};
for (const m of modes) {
  const { model, weights } = build(m);
  const s = await ort.InferenceSession.create(model, { externalData: [{ path: "w.bin", data: weights }], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential", logSeverityLevel: 3 });
  sessions[m] = { s, f: feeds(m) };
}
const times: Record<string, number[]> = { none: [], fp32: [], u8: [] };
for (let round = 0; round < 60; round++) for (const m of modes) {
  const t = performance.now(); await sessions[m]!.s.run(sessions[m]!.f); if (round >= 5) times[m]!.push(performance.now() - t);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const base = med(times.none!);
for (const m of modes) console.log(`${m.padEnd(5)} ${med(times[m]!).toFixed(2)} ms/pass  (+${((med(times[m]!) / base - 1) * 100).toFixed(1)} % over no side path)`);
