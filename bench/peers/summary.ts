/**
 * From the raw step times of interleaved lanes to the figures `npm run bench:peers` reports:
 * medians per lane, and the ratios the issues set goals for (#11: lora-edge's WASM decode ≥ 1.5×
 * transformers.js's at no more memory; #12: native decode on one thread ≥ llama.cpp's; a rank-16
 * adapter ≤ 10 %). Pure: no engines, no clocks.
 */
import { median } from "../stats.ts";

export type LaneTimes = { prefill_ms: number[]; decode_ms: number[] };
export type LaneRow = { prefill_tokens_per_s: number; decode_ms: number; decode_tokens_per_s: number; steps: number };

/** A ratio with what it compares and, when an issue sets one, its goal (`higher`: ratio ≥ goal passes). */
export type Ratio = { name: string; numerator: string; denominator: string; value: number; goal?: { value: number; higher: boolean }; met?: boolean };

export function laneRows(lanes: Record<string, LaneTimes>, promptTokens: number): Record<string, LaneRow> {
  return Object.fromEntries(
    Object.entries(lanes).map(([name, t]) => {
      const decode = median(t.decode_ms);
      return [name, { prefill_tokens_per_s: (promptTokens * 1000) / median(t.prefill_ms), decode_ms: decode, decode_tokens_per_s: 1000 / decode, steps: t.decode_ms.length }];
    }),
  );
}

type RatioSpec = { name: string; numerator: string; denominator: string; field: "decode" | "prefill" | "overhead"; goal?: { value: number; higher: boolean } };

/** The comparisons made within one run (lanes missing from it are skipped). */
export const RATIOS: readonly RatioSpec[] = [
  { name: "#12 native 1 thread decode vs llama.cpp 1 thread", numerator: "ours_node_1t", denominator: "llamacpp_1t", field: "decode", goal: { value: 1, higher: true } },
  { name: "#11 WASM 1 thread decode vs transformers.js WASM 1 thread", numerator: "ours_wasm_1t", denominator: "transformersjs_wasm_1t", field: "decode", goal: { value: 1.5, higher: true } },
  { name: "WASM 1 thread prefill vs transformers.js", numerator: "ours_wasm_1t", denominator: "transformersjs_wasm_1t", field: "prefill" },
  { name: "native 1 thread prefill vs llama.cpp 1 thread", numerator: "ours_node_1t", denominator: "llamacpp_1t", field: "prefill" },
  { name: "native 2 threads decode vs llama.cpp 2 threads", numerator: "ours_node_2t", denominator: "llamacpp_2t", field: "decode" },
  { name: "WASM 1 thread decode vs llama.cpp 1 thread", numerator: "ours_wasm_1t", denominator: "llamacpp_1t", field: "decode" },
  { name: "native 2 threads vs 1 thread decode", numerator: "ours_node_2t", denominator: "ours_node_1t", field: "decode" },
  { name: "rank-16 adapter (7 projections) decode overhead, WASM", numerator: "ours_wasm_1t_r16", denominator: "ours_wasm_1t", field: "overhead", goal: { value: 0.1, higher: false } },
  { name: "rank-16 adapter (7 projections) decode overhead, native 1 thread", numerator: "ours_node_1t_r16", denominator: "ours_node_1t", field: "overhead", goal: { value: 0.1, higher: false } },
];

/** Speed ratios (decode/prefill: numerator's tokens/s over denominator's; overhead: step time ratio − 1). */
export function speedRatios(rows: Record<string, LaneRow>, specs: readonly RatioSpec[] = RATIOS): Ratio[] {
  const out: Ratio[] = [];
  for (const s of specs) {
    const [a, b] = [rows[s.numerator], rows[s.denominator]];
    if (!a || !b) continue;
    const value = s.field === "decode" ? a.decode_tokens_per_s / b.decode_tokens_per_s : s.field === "prefill" ? a.prefill_tokens_per_s / b.prefill_tokens_per_s : a.decode_ms / b.decode_ms - 1;
    out.push(withGoal({ name: s.name, numerator: s.numerator, denominator: s.denominator, value }, s.goal));
  }
  return out;
}

/** Resident memory of ours against a peer's (goal: no more memory, ratio ≤ 1). */
export function memoryRatio(name: string, ours: { key: string; bytes: number }, peer: { key: string; bytes: number }, goal = true): Ratio {
  return withGoal({ name, numerator: ours.key, denominator: peer.key, value: ours.bytes / peer.bytes }, goal ? { value: 1, higher: false } : undefined);
}

function withGoal(r: Ratio, goal: Ratio["goal"]): Ratio {
  return goal ? { ...r, goal, met: goal.higher ? r.value >= goal.value : r.value <= goal.value } : r;
}

/** How many leading tokens two greedy continuations share. */
export function agreeingPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
