/**
 * The batched graph's LoRA inputs (src/builder/batch-graph.ts `perRowLora`): the batch's distinct
 * adapters side by side, `A` `[in, U·r]` and `B` `[U·r, out]` with r the largest rank among them
 * for that group (a smaller rank zero-padded: exact zeros), and per pass a 0/1 mask `[N, U·r]` that
 * keeps each token's own adapter. Rows share an adapter when they carry the same prepared feeds (the
 * adapter cache hands every request for one adapter the same object): its columns appear once, so
 * the pass reads its factors once however many rows use it. A row without an adapter has a zero
 * mask: the base. The stacks change only when an adapter joins or leaves the batch; the masks
 * whenever a row does.
 *
 * @example
 * const { adapters, slots } = adapterSlots([feedsA, undefined, feedsA, feedsB]); // slots [0, -1, 0, 1]
 * const feeds = { ...loraStacks(arch, adapters), ...loraMasks(arch, adapters, slots, 1) };
 */
import type { HostTensor } from "./backend.ts";
import type { LoraFeeds } from "./lora-feeds.ts";
import { LORA_GROUPS, batchIo, groupLayout, io, type Architecture, type LoraGroupName } from "./manifest.ts";

/** The distinct adapters among the rows, in order of first use, and each row's slot among them (−1: none). */
export function adapterSlots(rows: ReadonlyArray<LoraFeeds | undefined>): { adapters: LoraFeeds[]; slots: number[] } {
  const adapters: LoraFeeds[] = [];
  const slots = rows.map((lora) => {
    if (!lora) return -1;
    const at = adapters.indexOf(lora);
    return at >= 0 ? at : adapters.push(lora) - 1;
  });
  return { adapters, slots };
}

/** The largest rank among `adapters` in one layer's group: the width of each one's columns there. */
function slotRank(adapters: readonly LoraFeeds[], layer: number, group: LoraGroupName): number {
  return adapters.reduce((m, a) => Math.max(m, a.layers[layer]?.[group]?.rank ?? 0), 0);
}

/** `A` and `B` of every layer and group for the distinct `adapters`, side by side in that order. */
export function loraStacks(arch: Architecture, adapters: readonly LoraFeeds[]): Record<string, HostTensor> {
  const U = adapters.length;
  const stacks: Record<string, HostTensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const { name } of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(arch, name);
      const R = slotRank(adapters, l, name);
      const feeds = adapters.map((a) => a.layers[l]?.[name]);
      let A: Float32Array;
      let B: Float32Array;
      if (U === 1 && feeds[0]?.rank === R && R > 0) {
        // one adapter at its own rank: its feeds are the stacks as they are (no copy)
        ({ A, B } = feeds[0]!);
      } else {
        A = new Float32Array(K * U * R); // [K, U·R]: row k holds each adapter's row k in turn
        B = new Float32Array(U * R * N); // [U·R, N]: each adapter's rows in turn
        feeds.forEach((f, u) => {
          if (!f || f.rank === 0) return;
          for (let k = 0; k < K; k++) A.set(f.A.subarray(k * f.rank, (k + 1) * f.rank), (k * U + u) * R);
          B.set(f.B, u * R * N); // rows 0..rank-1 of adapter u's block
        });
      }
      stacks[io.loraA(l, name)] = { type: "float32", data: A, dims: [K, U * R] };
      stacks[io.loraB(l, name)] = { type: "float32", data: B, dims: [U * R, N] };
    }
  }
  return stacks;
}

/**
 * The masks of one pass: rows `slots` (each its adapter's index in `adapters`, or −1), `S` tokens
 * each. Groups whose columns have the same width share one tensor (usually a handful in all).
 */
export function loraMasks(arch: Architecture, adapters: readonly LoraFeeds[], slots: readonly number[], S: number): Record<string, HostTensor> {
  const U = adapters.length;
  const byRank = new Map<number, HostTensor>();
  const maskOf = (R: number): HostTensor => {
    let t = byRank.get(R);
    if (!t) {
      const data = new Float32Array(slots.length * S * U * R);
      slots.forEach((u, b) => {
        if (u < 0) return;
        for (let s = 0; s < S; s++) data.fill(1, (b * S + s) * U * R + u * R, (b * S + s) * U * R + (u + 1) * R);
      });
      byRank.set(R, (t = { type: "float32", data, dims: [slots.length * S, U * R] }));
    }
    return t;
  };
  const masks: Record<string, HostTensor> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) for (const { name } of LORA_GROUPS) masks[batchIo.loraMask(l, name)] = maskOf(slotRank(adapters, l, name));
  return masks;
}
