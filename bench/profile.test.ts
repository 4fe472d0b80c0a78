import { describe, expect, it } from "vitest";
import { summariseProfile } from "./profile-summary.ts";

const run = (ts: number, dur: number) => ({ cat: "Session", name: "model_run", ts, dur });
const kernel = (name: string, op: string, ts: number, dur: number, out: number[]) => ({ cat: "Node", name: `${name}_kernel_time`, ts, dur, args: { op_name: op, output_type_shape: [{ float: out }] } });

describe("bench:profile summary", () => {
  it("sums kernels per op over the decode runs only, and finds lm_head by its vocab-wide output", () => {
    const events = [
      run(0, 100), // prefill: skipped
      kernel("n_MatMul_1", "MatMul", 10, 80, [1, 8]),
      run(200, 100),
      kernel("n_MatMul_1", "MatMul", 210, 30, [1, 8]),
      kernel("n_MatMul_9", "MatMul", 250, 40, [1, 32]),
      kernel("n_Add_2", "Add", 240, 5, [1, 8]),
      run(400, 100),
      kernel("n_MatMul_1", "MatMul", 410, 30, [1, 8]),
      kernel("n_MatMul_9", "MatMul", 450, 40, [1, 32]),
      kernel("n_Add_2", "Add", 440, 5, [1, 8]),
    ];
    const s = summariseProfile(events, 1, 32);
    expect(s.decode_runs).toBe(2);
    expect(s.step_ms).toBeCloseTo(0.1, 12);
    expect(s.kernel_share).toBeCloseTo(0.75, 12);
    expect(s.nodes_per_step).toBe(3);
    expect(s.lm_head.share).toBeCloseTo(0.4, 12);
    expect(s.ops[0]).toEqual({ op: "MatMul", nodes: 2, ms: 0.07, share: 0.7 });
    expect(s.ops[1]!.op).toBe("Add");
  });
});
