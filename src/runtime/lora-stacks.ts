/**
 * The batched graph's LoRA inputs: the rows that carry an adapter (`lora_rows`), and their feeds
 * stacked along a leading axis, `A` `[B', in, r]` and `B` `[B', r, out]`, with r the largest rank
 * among them for that group. A row of smaller rank is zero-padded (zero columns of A, zero rows of B
 * add exact zeros); a row without an adapter is left out: the graph leaves its output the base's.
 * Built once when the batch's rows change, not per step; a stack of one row is that row's own
 * arrays, not a copy (backends only read what they are fed).
 *
 * @example const stacks = loraStacks(arch, [feedsA, undefined, feedsB]); // lora_rows [0, 2]
 */
import type { HostTensor } from "./backend.ts";
import type { LoraFeeds } from "./lora-feeds.ts";
import { LORA_GROUPS, batchIo, groupLayout, io, type Architecture } from "./manifest.ts";

/** `lora_rows` alone: which of the batch rows carry an adapter (what changes when a base row joins or leaves). */
export function loraRows(batchRows: ReadonlyArray<LoraFeeds | undefined>): HostTensor {
  const rows = batchRows.flatMap((r, b) => (r ? [b] : []));
  return { type: "int64", data: BigInt64Array.from(rows, BigInt), dims: [rows.length] };
}

/** One host tensor per LoRA input of the batched graph (and `lora_rows`), for the batch rows given. */
export function loraStacks(arch: Architecture, batchRows: ReadonlyArray<LoraFeeds | undefined>): Record<string, HostTensor> {
  const rows = batchRows.filter((r): r is LoraFeeds => r !== undefined);
  const B = rows.length;
  const stacks: Record<string, HostTensor> = { [batchIo.loraRows]: loraRows(batchRows) };
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const { name } of LORA_GROUPS) {
      const { in: K, out: N } = groupLayout(arch, name);
      const feeds = rows.map((r) => r.layers[l]?.[name]);
      const R = feeds.reduce((m, f) => Math.max(m, f?.rank ?? 0), 0);
      const only = B === 1 ? feeds[0] : undefined;
      if (only) {
        // one row (a prefill pass): its own arrays are the stacks, uncopied (SmolLM2 at r=16: 29 MB a request)
        stacks[io.loraA(l, name)] = { type: "float32", data: only.A, dims: [1, K, R] };
        stacks[io.loraB(l, name)] = { type: "float32", data: only.B, dims: [1, R, N] };
        continue;
      }
      const A = new Float32Array(B * K * R); // [B, K, R]
      const Bm = new Float32Array(B * R * N); // [B, R, N]
      feeds.forEach((f, b) => {
        if (!f) return;
        if (f.rank === R) A.set(f.A, b * K * R); // the row's [K, R] block as is (the usual case: one copy, not K)
        else for (let k = 0; k < K; k++) A.set(f.A.subarray(k * f.rank, (k + 1) * f.rank), (b * K + k) * R);
        Bm.set(f.B, b * R * N); // rows 0..rank-1 of row b's [R, N] block
      });
      stacks[io.loraA(l, name)] = { type: "float32", data: A, dims: [B, K, R] };
      stacks[io.loraB(l, name)] = { type: "float32", data: Bm, dims: [B, R, N] };
    }
  }
  return stacks;
}
