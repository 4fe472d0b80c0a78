import { describe, expect, it } from "vitest";
import { loraStacks } from "./lora-stacks.ts";
import { LORA_GROUPS, groupLayout, io, batchIo, type Architecture } from "./manifest.ts";
import { randomFeeds } from "../../test/support/feeds.ts";

const arch: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 64, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, head_dim: 4, max_position_embeddings: 32, rope_theta: 10_000, rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};

describe("loraStacks", () => {
  it("stacks the adapter rows along a leading axis, each zero-padded to the largest rank; base rows are left out of the stacks and of lora_rows", () => {
    const rows = [randomFeeds(arch, 1, 1), undefined, randomFeeds(arch, 3, 2), undefined];
    const stacks = loraStacks(arch, rows);
    expect(Array.from(stacks[batchIo.loraRows]!.data as BigInt64Array, Number)).toEqual([0, 2]);
    for (let l = 0; l < arch.num_hidden_layers; l++) {
      for (const { name } of LORA_GROUPS) {
        const { in: K, out: N } = groupLayout(arch, name);
        const feeds = [rows[0]!.layers[l]![name]!, rows[2]!.layers[l]![name]!];
        const R = Math.max(...feeds.map((f) => f.rank));
        const A = stacks[io.loraA(l, name)]!;
        const B = stacks[io.loraB(l, name)]!;
        expect([A.dims, B.dims]).toEqual([[2, K, R], [2, R, N]]);
        feeds.forEach((f, b) => {
          for (let k = 0; k < K; k++) for (let j = 0; j < R; j++) expect(A.data[(b * K + k) * R + j]).toBe(j < f.rank ? f.A[k * f.rank + j] : 0);
          for (let j = 0; j < R; j++) for (let n = 0; n < N; n++) expect(B.data[(b * R + j) * N + n]).toBe(j < f.rank ? f.B[j * N + n] : 0);
        });
      }
    }
  });

  it("a stack of one row is that row's own arrays, not a copy", () => {
    const feeds = randomFeeds(arch, 2, 3);
    const stacks = loraStacks(arch, [feeds]);
    const { in: K, out: N } = groupLayout(arch, "gate_up");
    const f = feeds.layers[1]!.gate_up!;
    expect(stacks[io.loraA(1, "gate_up")]).toEqual({ type: "float32", data: f.A, dims: [1, K, f.rank] });
    expect(stacks[io.loraA(1, "gate_up")]!.data).toBe(f.A);
    expect(stacks[io.loraB(1, "gate_up")]!.data).toBe(f.B);
    expect(stacks[io.loraB(1, "gate_up")]!.dims).toEqual([1, f.rank, N]);
  });
});
