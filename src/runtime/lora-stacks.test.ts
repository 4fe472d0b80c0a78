import { describe, expect, it } from "vitest";
import { adapterSlots, loraMasks, loraStacks } from "./lora-stacks.ts";
import { LORA_GROUPS, batchIo, groupLayout, io, type Architecture } from "./manifest.ts";
import type { LoraFeeds } from "./lora-feeds.ts";
import { seededNormal } from "./random.ts";
import { randomFeeds } from "../../test/support/feeds.ts";

const arch: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, rope_theta: 10_000, rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};

/** `(x · A) · B` of one token's input in float64: the side path's delta the graph adds for it. */
function delta(x: Float64Array, A: ArrayLike<number>, B: ArrayLike<number>, K: number, R: number, N: number, mask?: ArrayLike<number>): Float64Array {
  const xa = new Float64Array(R);
  for (let j = 0; j < R; j++) {
    for (let k = 0; k < K; k++) xa[j]! += x[k]! * A[k * R + j]!;
    if (mask) xa[j]! *= mask[j]!;
  }
  const out = new Float64Array(N);
  for (let j = 0; j < R; j++) for (let n = 0; n < N; n++) out[n]! += xa[j]! * B[j * N + n]!;
  return out;
}

describe("LoRA stacks: the batch's distinct adapters side by side, each token masked to its own", () => {
  // ranks 3 and 1, one adapter that only has layer 0, and one fed twice (the same prepared feeds)
  const a = randomFeeds(arch, 3, 1, 0.3);
  const b = randomFeeds(arch, 1, 2, 0.3);
  const onlyLayer0: LoraFeeds = { dora: false, layers: [randomFeeds(arch, 2, 3, 0.3).layers[0]!, {}] };
  const rows = [a, undefined, b, a, onlyLayer0];

  it("gives each distinct adapter one slot, in order of first use; rows without one get −1", () => {
    expect(adapterSlots(rows)).toEqual({ adapters: [a, b, onlyLayer0], slots: [0, -1, 1, 0, 2] });
    expect(adapterSlots([undefined, undefined])).toEqual({ adapters: [], slots: [-1, -1] });
  });

  it("every token's masked side path equals its own adapter's (x·A)·B, and zero for a row without one (float64, random inputs)", () => {
    const { adapters, slots } = adapterSlots(rows);
    const S = 2;
    const stacks = loraStacks(arch, adapters);
    const masks = loraMasks(arch, adapters, slots, S);
    const n = seededNormal(9);
    for (let l = 0; l < arch.num_hidden_layers; l++) {
      for (const { name } of LORA_GROUPS) {
        const { in: K, out: N } = groupLayout(arch, name);
        const [A, B, mask] = [stacks[io.loraA(l, name)]!, stacks[io.loraB(l, name)]!, masks[batchIo.loraMask(l, name)]!];
        const UR = A.dims[1]!;
        // the widest rank among the adapters at this layer, once per adapter
        expect(UR).toBe(adapters.length * Math.max(...adapters.map((f) => f.layers[l]?.[name]?.rank ?? 0)));
        expect([A.dims, B.dims, mask.dims]).toEqual([[K, UR], [UR, N], [rows.length * S, UR]]);
        for (let t = 0; t < rows.length * S; t++) {
          const x = Float64Array.from({ length: K }, () => n());
          const got = delta(x, A.data as Float32Array, B.data as Float32Array, K, UR, N, (mask.data as Float32Array).subarray(t * UR, (t + 1) * UR));
          const own = rows[Math.floor(t / S)]?.layers[l]?.[name];
          const want = own ? delta(x, own.A, own.B, K, own.rank, N) : new Float64Array(N);
          for (let i = 0; i < N; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want[i]!)));
        }
      }
    }
  });

  it("one adapter at its own rank is fed as it is (no copy); masks of the same width are one tensor", () => {
    const stacks = loraStacks(arch, [a]);
    expect(stacks[io.loraA(0, "qkv")]!.data).toBe(a.layers[0]!.qkv!.A);
    expect(stacks[io.loraB(1, "down")]!.data).toBe(a.layers[1]!.down!.B);
    const masks = loraMasks(arch, [a], [0, -1], 1);
    expect(new Set(Object.values(masks)).size).toBe(new Set(LORA_GROUPS.map((g) => a.layers[0]![g.name]!.rank)).size);
    expect(Array.from(masks[batchIo.loraMask(0, "o")]!.data as Float32Array)).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it("no adapter in the batch: empty stacks and zero-width masks (the side path adds nothing)", () => {
    const stacks = loraStacks(arch, []);
    expect(stacks[io.loraA(0, "qkv")]!.dims).toEqual([arch.hidden_size, 0]);
    expect(loraMasks(arch, [], [-1, -1], 3)[batchIo.loraMask(1, "down")]!.dims).toEqual([6, 0]);
  });
});
