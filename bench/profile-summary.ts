/**
 * One summary of an onnxruntime profile (chrome-trace events) for both profilers: onnxruntime-node
 * writes it to a file (bench/profile.ts), onnxruntime-web prints it (bench/profile-wasm.ts). Only
 * the decode runs count (all `model_run` events after the first `skip`). Per node, the median of its
 * kernel time over those runs is kept (a shared machine preempts single runs), then summed per
 * operator type; shares are of the median run's wall time, the rest of which is ORT's own work
 * between kernels (feeds, fences, outputs). The builder's node names are generic, so `lm_head` is
 * the kernel (not the embedding's Gather) whose input or output is vocabulary-wide: onnxruntime-node
 * records output shapes, onnxruntime-web input shapes.
 */
import { median } from "./stats.ts";

type Shapes = Array<Record<string, number[]>>;
export type ProfileEvent = { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string; output_type_shape?: Shapes; input_type_shape?: Shapes } };

export type DecodeProfile = {
  decode_runs: number;
  /** median wall time of one decode run */
  step_ms: number;
  /** sum over nodes of each node's median kernel time */
  kernel_ms: number;
  kernel_share: number;
  nodes_per_step: number;
  lm_head: { ms: number; share: number };
  ops: { op: string; nodes: number; ms: number; share: number }[];
};

const vocabWide = (shapes: Shapes | undefined, vocab: number) => shapes?.some((s) => Object.values(s)[0]?.at(-1) === vocab) ?? false;

/** @example summariseProfile(JSON.parse(readFileSync(file, "utf8")), 1, 49152) */
export function summariseProfile(events: readonly ProfileEvent[], skip: number, vocab: number): DecodeProfile {
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts).slice(skip);
  if (!runs.length) throw new Error(`the profile has no decode runs after the first ${skip}`);
  const inRun = (e: ProfileEvent) => runs.some((r) => e.ts >= r.ts && e.ts + e.dur <= r.ts + r.dur);
  const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time") && inRun(e));
  const perNode = new Map<string, { op: string; durs: number[]; lmHead: boolean }>();
  for (const k of kernels) {
    const op = k.args?.op_name ?? "?";
    const node = perNode.get(k.name) ?? { op, durs: [], lmHead: op !== "Gather" && (vocabWide(k.args?.output_type_shape, vocab) || vocabWide(k.args?.input_type_shape, vocab)) };
    node.durs.push(k.dur);
    perNode.set(k.name, node);
  }
  const byOp = new Map<string, { nodes: number; us: number }>();
  let lmHead = 0;
  for (const node of perNode.values()) {
    const us = median(node.durs);
    const row = byOp.get(node.op) ?? { nodes: 0, us: 0 };
    row.nodes++;
    row.us += us;
    byOp.set(node.op, row);
    if (node.lmHead) lmHead += us;
  }
  const step = median(runs.map((r) => r.dur));
  const kernel = [...byOp.values()].reduce((s, o) => s + o.us, 0);
  return {
    decode_runs: runs.length,
    step_ms: step / 1000,
    kernel_ms: kernel / 1000,
    kernel_share: kernel / step,
    nodes_per_step: kernels.length / runs.length,
    lm_head: { ms: lmHead / 1000, share: lmHead / step },
    ops: [...byOp].map(([op, o]) => ({ op, nodes: o.nodes, ms: o.us / 1000, share: o.us / step })).sort((a, b) => b.ms - a.ms),
  };
}

/** A profile as a headline and a markdown table (op types under 0.5 % of the step summed as "others"). */
export function profileTable(title: string, p: DecodeProfile): string {
  const lines = [
    `${title}: decode step ${p.step_ms.toFixed(2)} ms (median of ${p.decode_runs}), kernels ${(p.kernel_share * 100).toFixed(1)} % of it, ${p.nodes_per_step.toFixed(0)} kernels per step; lm_head ${p.lm_head.ms.toFixed(2)} ms (${(p.lm_head.share * 100).toFixed(1)} %)`,
    "",
    "| op | nodes | ms/step | share |",
    "| --- | ---: | ---: | ---: |",
  ];
  const rest = { nodes: 0, ms: 0, share: 0 };
  for (const o of p.ops) {
    if (o.share >= 0.005) lines.push(`| ${o.op} | ${o.nodes} | ${o.ms.toFixed(3)} | ${(o.share * 100).toFixed(1)} % |`);
    else {
      rest.nodes += o.nodes;
      rest.ms += o.ms;
      rest.share += o.share;
    }
  }
  if (rest.nodes) lines.push(`| (others) | ${rest.nodes} | ${rest.ms.toFixed(3)} | ${(rest.share * 100).toFixed(1)} % |`);
  return lines.join("\n");
}
