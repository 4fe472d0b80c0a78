/**
 * Render a `npm run bench -- --json` result as the markdown tables of bench/README.md.
 * `npx tsx bench/report.ts bench/results/<file>.json`
 */
import { readFileSync } from "node:fs";
import { renderPeers } from "./peers/report.ts";

type Row = Record<string, number>;
const r = JSON.parse(readFileSync(process.argv[2] ?? "/dev/stdin", "utf8")) as Record<string, any>;
const f = (x: number, d = 2) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(d));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const out: string[] = [];
const table = (head: string[], rows: (string | number)[][]) => {
  out.push(`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`, ...rows.map((row) => `| ${row.join(" | ")} |`), "");
};

out.push(`Run ${r.date} on ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memory_gib} GiB, Node ${r.machine.node}; onnxruntime-web 1.30 WASM, 1 thread.`, "");
if (r.engine) {
  const e = r.engine;
  out.push(`### Engine (${e.preset} model: hidden ${e.architecture.hidden_size}, ${e.architecture.num_hidden_layers} layers, vocab ${e.architecture.vocab_size})`, "");
  table(
    ["format", "weights", "wasm heap after session", "after 64+96 tokens", "prefill tok/s", "decode tok/s", "decode ms rank 0", "rank 16", "no LoRA inputs"],
    (e.rows as (Row & { format: string })[]).map((x) => [x.format, mib(x.weight_bytes!), mib(x.wasm_heap_bytes_session!), mib(x.wasm_heap_bytes_after_decode!), f(x.prefill_tokens_per_s!), f(x.decode_tokens_per_s!), f(x.decode_ms_rank0!), f(x.decode_ms_rank16!), f(x.decode_ms_no_lora_graph!)]),
  );
  const q = e.ratios;
  table(
    ["int8 vs fp32", "value", "target"],
    [
      ["decode speed", `${f(q.int8_decode_speed_vs_fp32)}×`, "≥ 0.85×"],
      ["weight bytes", pct(q.int8_weight_bytes_vs_fp32), "≤ 30%"],
      ["wasm heap after session", pct(q.int8_wasm_heap_vs_fp32), "≤ 30%"],
      ["rank-16 adapter (all 7 projections) decode overhead", pct(q.int8_rank16_overhead), "≤ 10%"],
      ["rank-0 side paths vs a graph without LoRA inputs", pct(q.int8_rank0_side_path_overhead), "—"],
    ],
  );
  const s = e.serving_int8;
  out.push("### Serving adapters (int8 default)", "");
  table(
    ["figure", "value"],
    [
      ["decode tok/s: rank 0 / one r=16 / three r=16 composed / merged model", `${f(s.decode_tokens_per_s_rank0)} / ${f(s.decode_tokens_per_s_r16)} / ${f(s.decode_tokens_per_s_three_r16)} / ${f(s.decode_tokens_per_s_merged)}`],
      ["decode overhead: one r=16 / three r=16 / one r=8 (all seven projections)", `${pct(s.r16_overhead)} / ${pct(s.three_r16_overhead)} / ${pct(s.r8_overhead)}`],
      ["hot switch (compose + copy feeds into the heap), ms", f(s.hot_switch_ms, 4)],
      ["naive switch (merge + rebuild session), ms", f(s.naive_switch_ms)],
      ["naive / hot", `${f(s.naive_over_hot_switch, 0)}×`],
      ["one r=16 adapter: prepared feeds (hot tier) / stored form (warm tier)", `${mib(s.adapter_bytes_r16)} / ${mib(s.stored_bytes_r16)}`],
      ["50 cached r=16 adapters (warm tier + full hot tier)", mib(s.cache_50_adapters_bytes)],
      ["base: wasm heap after decoding + package bytes held in JS", `${mib(s.base_wasm_heap_bytes)} + ${mib(s.base_package_bytes)}`],
      ["50 adapters + base fit in 128 MB", s.fits_128mb_isolate_50_adapters ? "yes" : "no"],
    ],
  );
}
if (r.heap) {
  out.push("### Run path: KV cache and adapter feeds kept in the wasm heap vs onnxruntime-web's `session.run` (int8)", "");
  table(
    ["context", "session.run ms/step: rank 0 / r=16", "heap path ms/step: rank 0 / r=16", "r=16 overhead: session.run / heap path", "heap path speed-up: rank 0 / r=16"],
    (r.heap.rows as Row[]).map((x) => [
      `${x.context} tokens`,
      `${f(x.stock_decode_ms_rank0!)} / ${f(x.stock_decode_ms_r16!)}`,
      `${f(x.heap_decode_ms_rank0!)} / ${f(x.heap_decode_ms_r16!)}`,
      `${pct(x.stock_r16_overhead!)} / ${pct(x.heap_r16_overhead!)}`,
      `${f(x.heap_speedup_rank0!)}× / ${f(x.heap_speedup_r16!)}×`,
    ]),
  );
}
if (r.adapters) {
  out.push("### Adapter preparation (r=16, all seven projections, BF16 PEFT files)", "");
  table(["figure", "value"], Object.entries(r.adapters as Row).map(([k, v]) => [k, k.endsWith("bytes") ? mib(+v) : f(+v, 3)]));
}
if (r.router) {
  out.push("### Router", "");
  table(["figure", "value"], Object.entries(r.router as Row).map(([k, v]) => [k, f(+v, 3)]));
}
if (r.worker) {
  out.push("### Worker end to end (inside workerd via miniflare)", "");
  table(["figure", "value"], Object.entries(r.worker as Row).map(([k, v]) => [k, f(+v, 3)]));
}
if (r.parity) {
  out.push("### Golden parity with PEFT (fp32 logits)", "");
  table(["adapter", "rel L2", "greedy 16 tokens equal"], Object.entries(r.parity as Record<string, { rel_l2: number; greedy_equal: boolean }>).map(([k, v]) => [k, v.rel_l2.toExponential(2), v.greedy_equal ? "yes" : "no"]));
}
if (r.peers) out.push("### Peers (transformers.js, llama.cpp)", "", renderPeers(r.peers));
console.log(out.join("\n"));
