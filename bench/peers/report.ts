/**
 * Render a `npm run bench:peers -- --json` result (or `npm run bench`'s `peers` part) as markdown:
 * per weight format and side, each lane's prefill and decode, the ratios against the issues' goals,
 * resident memory per engine, and chat over HTTP.
 * `npx tsx bench/peers/report.ts bench/results/<file>.json`
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LaneRow, Ratio } from "./summary.ts";

type SpeedPart = { format: string; side: string; prompt_tokens: number; rounds: number; steps: number; lanes: Record<string, LaneRow>; ratios: Ratio[]; greedy_agreement: Record<string, number>; greedy_text: string; transformersjs: { file: string; dtype: string } | null };
type MemoryRow = { kind: string; format: string; rss_after_load: number; rss_after_decode: number; peak_rss: number; wasm_heap: number | null; tokens: number };
type Http = { runs: number; completion_tokens: number; base: { ttft_ms: number; decode_tokens_per_s: number }; cached_adapter: { ttft_ms: number; decode_tokens_per_s: number }; cold_adapter: { ttft_ms: number; decode_tokens_per_s: number } };
export type PeersResult = { date: string; machine: { cpu: string; cores: number; memory_gib: number; node: string }; load_average: number[]; llama_context: number; speed: SpeedPart[]; memory: MemoryRow[]; memory_ratios: Ratio[]; http?: Http };

const LANE_NAMES: Record<string, string> = {
  ours_wasm_1t: "lora-edge, onnxruntime-web WASM, 1 thread",
  ours_wasm_1t_r16: "… with a rank-16 adapter (7 projections)",
  ours_node_1t: "lora-edge, onnxruntime-node, 1 thread",
  ours_node_1t_r16: "… with a rank-16 adapter (7 projections)",
  ours_node_2t: "lora-edge, onnxruntime-node, 2 threads",
  transformersjs_wasm_1t: "transformers.js 4.3.2, onnxruntime-web WASM, 1 thread",
  llamacpp_1t: "llama.cpp (node-llama-cpp 3.21.1), GGUF Q4_1, 1 thread",
  llamacpp_2t: "llama.cpp, GGUF Q4_1, 2 threads",
};

const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ratio = (r: Ratio) => (r.name.includes("overhead") ? `${(100 * r.value).toFixed(1)} %` : `${r.value.toFixed(2)}×`);
const goal = (r: Ratio) => (r.goal ? `${r.goal.higher ? "≥" : "≤"} ${r.name.includes("overhead") ? `${100 * r.goal.value} %` : `${r.goal.value}×`}: ${r.met ? "met" : "**not met**"}` : "—");

export function renderPeers(r: PeersResult): string {
  const out: string[] = [];
  const table = (head: string[], rows: string[][]) => out.push(`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`, ...rows.map((row) => `| ${row.join(" | ")} |`), "");
  out.push(`Run ${r.date} on ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memory_gib} GiB, Node ${r.machine.node}; 1-minute load average ${r.load_average.map((x) => x.toFixed(1)).join(" → ")} over the parts.`, "");
  for (const s of r.speed) {
    const tjs = s.transformersjs ? `, transformers.js \`${s.transformersjs.file}\` (${s.transformersjs.dtype})` : "";
    out.push(`#### ${s.format}, ${s.side} side (lora-edge ${s.format}${tjs}; prompt ${s.prompt_tokens} tokens, ${s.rounds} rounds × ${s.steps} steps, interleaved)`, "");
    table(
      ["lane", "prefill tok/s", "decode ms/step", "decode tok/s", "greedy tokens equal to the first lane's (of 16)"],
      Object.entries(s.lanes).map(([k, v]) => [LANE_NAMES[k] ?? k, f(v.prefill_tokens_per_s), f(v.decode_ms), f(v.decode_tokens_per_s), String(s.greedy_agreement[k] ?? "—")]),
    );
    table(["ratio", "value", "goal"], s.ratios.map((x) => [x.name, ratio(x), goal(x)]));
  }
  if (r.memory.length) {
    out.push("#### Resident memory, each engine alone in a fresh Node process", "");
    table(
      ["engine", "format", "RSS after load", "RSS after prompt + 32 steps", "peak RSS", "wasm heap"],
      r.memory.map((m) => [m.kind === "bare" ? "Node + onnxruntime-web initialised, no model" : (LANE_NAMES[m.kind] ?? m.kind), m.kind === "bare" ? "—" : m.kind.startsWith("llamacpp") ? "GGUF Q4_1" : m.format, mib(m.rss_after_load), mib(m.rss_after_decode), mib(m.peak_rss), m.wasm_heap === null ? "—" : mib(m.wasm_heap)]),
    );
    if (r.memory_ratios.length) table(["ratio", "value", "goal"], r.memory_ratios.map((x) => [x.name, `${x.value.toFixed(2)}×`, goal(x)]));
  }
  if (r.http) {
    const h = r.http;
    out.push(`#### Chat over HTTP, Node host, 1 thread (${h.runs} runs, ${h.completion_tokens} completion tokens, streamed, medians)`, "");
    table(
      ["", "time to first token", "decode tok/s"],
      [["base", `${f(h.base.ttft_ms)} ms`, f(h.base.decode_tokens_per_s)], ["cached r=16 adapter", `${f(h.cached_adapter.ttft_ms)} ms`, f(h.cached_adapter.decode_tokens_per_s)], ["cold r=16 adapter (first use)", `${f(h.cold_adapter.ttft_ms)} ms`, f(h.cold_adapter.decode_tokens_per_s)]],
    );
  }
  return out.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = JSON.parse(readFileSync(process.argv[2] ?? "/dev/stdin", "utf8")) as PeersResult & { peers?: PeersResult };
  console.log(renderPeers(r.peers ?? r));
}
