import { describe, expect, it } from "vitest";
import { agreeingPrefix, laneRows, memoryRatio, speedRatios } from "./summary.ts";
import { argmax } from "./lanes.ts";

describe("bench:peers summary", () => {
  it("turns step times into tokens/s: prefill over the prompt, decode per step", () => {
    const rows = laneRows({ a: { prefill_ms: [500, 250, 1000], decode_ms: [20, 25, 30] } }, 50);
    expect(rows.a).toEqual({ prefill_tokens_per_s: 100, decode_ms: 25, decode_tokens_per_s: 40, steps: 3 });
  });

  it("compares lanes against the issues' goals and skips lanes a run lacks", () => {
    const rows = laneRows(
      {
        ours_node_1t: { prefill_ms: [100], decode_ms: [10] },
        ours_node_1t_r16: { prefill_ms: [100], decode_ms: [10.5] },
        llamacpp_1t: { prefill_ms: [50], decode_ms: [12] },
      },
      64,
    );
    const ratios = speedRatios(rows);
    const byName = Object.fromEntries(ratios.map((r) => [r.name, r]));
    const native = byName["#12 native 1 thread decode vs llama.cpp 1 thread"]!;
    expect(native.value).toBeCloseTo(1.2, 12);
    expect(native.met).toBe(true);
    expect(byName["native 1 thread prefill vs llama.cpp 1 thread"]!.value).toBeCloseTo(0.5, 12);
    const lora = byName["rank-16 adapter (7 projections) decode overhead, native 1 thread"]!;
    expect(lora.value).toBeCloseTo(0.05, 12);
    expect(lora.met).toBe(true);
    expect(ratios.some((r) => r.numerator.startsWith("ours_wasm"))).toBe(false);
  });

  it("a goal of 'no more memory' fails when ours holds more", () => {
    const r = memoryRatio("m", { key: "ours", bytes: 300 }, { key: "peer", bytes: 200 });
    expect(r.value).toBe(1.5);
    expect(r.met).toBe(false);
  });

  it("counts the leading tokens two greedy runs share", () => {
    expect(agreeingPrefix([1, 2, 3, 4], [1, 2, 9, 4])).toBe(2);
    expect(agreeingPrefix([1, 2], [1, 2, 3])).toBe(2);
  });

  it("argmax looks only inside the window it is given and returns the index within it", () => {
    const x = Float32Array.of(9, 1, 5, 2, 7, 3);
    expect(argmax(x)).toBe(0);
    expect(argmax(x, 3, 6)).toBe(1);
  });
});
