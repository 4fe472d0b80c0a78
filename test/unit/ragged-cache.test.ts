/**
 * The batched KV cache (src/runtime/ragged-cache.ts) against a plain model of it: whatever the
 * order of passes, joins and leaves, each sequence's columns, gathered through the feeds the graph
 * gets (`row_columns`, `row_lengths`, the buffers), are exactly the values written for it, in
 * position order; the buffer never exceeds `limit`, shrinks to the used columns when sequences
 * leave, and is empty after the last. On both backends (the writes go into their memory in place).
 */
import { describe, expect, it } from "vitest";
import { RaggedCache } from "../../src/runtime/ragged-cache.ts";
import { batchIo, io, type Architecture } from "../../src/runtime/manifest.ts";
import type { EngineBackend, HostTensor, ResidentTensor } from "../../src/runtime/backend.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { wasmBackend } from "../../src/runtime/wasm-backend.ts";
import { seededNormal } from "../../src/runtime/random.ts";

const arch = { num_hidden_layers: 2, num_key_value_heads: 2, head_dim: 4 } as Architecture;
const [L, KV, hd] = [arch.num_hidden_layers, arch.num_key_value_heads, arch.head_dim];
const columnBytes = 2 * L * KV * hd * 4;

/** What a sequence's cache must hold: per layer and side, its columns' values `[KV][t][hd]` in order. */
type Truth = Map<number, Float32Array[][][][]>;

/** A pass's outputs: random new columns `[KV, N, hd]` per layer and side, recorded in `truth`. */
function pass(truth: Truth, tokenKeys: number[], normal: () => number): Record<string, HostTensor> {
  const N = tokenKeys.length;
  const outputs: Record<string, HostTensor> = {};
  for (let l = 0; l < L; l++) {
    for (const [side, name] of [[0, io.presentKey(l)], [1, io.presentValue(l)]] as const) {
      const data = Float32Array.from({ length: KV * N * hd }, normal);
      outputs[name] = { type: "float32", data, dims: [KV, N, hd] };
      tokenKeys.forEach((k, t) => {
        if (!truth.has(k)) truth.set(k, Array.from({ length: L }, () => [Array.from({ length: KV }, () => []), Array.from({ length: KV }, () => [])]));
        for (let h = 0; h < KV; h++) truth.get(k)![l]![side]![h]!.push(data.slice((h * N + t) * hd, (h * N + t + 1) * hd));
      });
    }
  }
  return outputs;
}

/** Each key's columns read back through the feeds, compared with `truth`. */
function check(backend: EngineBackend, cache: RaggedCache, truth: Truth, keys: number[]) {
  const feeds = cache.feeds(keys);
  const cols = feeds[batchIo.rowColumns] as HostTensor;
  const lengths = Array.from((feeds[batchIo.rowLengths] as HostTensor).data as BigInt64Array, Number);
  const width = cols.dims[1]!;
  keys.forEach((k, b) => {
    expect(lengths[b]).toBe(truth.get(k)![0]![0]![0]!.length);
    for (let l = 0; l < L; l++) {
      for (const [side, name] of [[0, io.pastKey(l)], [1, io.pastValue(l)]] as const) {
        const buffer = feeds[name] as ResidentTensor;
        const { data, dims } = backend.read!(buffer);
        const C = dims[1]!;
        for (let h = 0; h < KV; h++) {
          for (let i = 0; i < lengths[b]!; i++) {
            const j = Number((cols.data as BigInt64Array)[b * width + i]);
            expect(Array.from((data as Float32Array).subarray((h * C + j) * hd, (h * C + j + 1) * hd))).toEqual(Array.from(truth.get(k)![l]![side]![h]![i]!));
          }
        }
      }
    }
  });
}

describe.each([["wasm", () => wasmBackend()], ["node", async () => nodeBackend({ threads: 1 })]] as const)("ragged KV cache (%s)", (_, make) => {
  it("passes, joins and leaves keep every sequence's columns exactly, in order, within the limit; leavers free their columns", async () => {
    const backend = await make();
    const normal = seededNormal(11);
    const truth: Truth = new Map();
    const shared = new RaggedCache(backend, arch);
    const live = new Set<number>();
    let nextKey = 0;
    for (let round = 0; round < 12; round++) {
      // what the sequences may reach this round (as the batcher's reservations): their length now, the joiners' prompts, 9 steps each
      const used = () => [...live].reduce((n, k) => n + truth.get(k)![0]![0]![0]!.length, 0);
      shared.limit = used() + [0, 1].reduce((n, j) => n + 3 + ((round * 7 + j * 5) % 17), 0) + 9 * (live.size + 2);
      // two sequences prefill alone (chunks of 5), then join
      for (let j = 0; j < 2; j++) {
        const own = new RaggedCache(backend, arch);
        const key = nextKey++;
        const prompt = 3 + ((round * 7 + j * 5) % 17);
        own.limit = prompt;
        for (let done = 0; done < prompt; done += 5) own.advance(pass(truth, Array(Math.min(5, prompt - done)).fill(key), normal), Array(Math.min(5, prompt - done)).fill(key));
        expect(own.bytes).toBe(prompt * columnBytes); // a prefill's buffer is exactly its prompt
        check(backend, own, truth, [key]);
        shared.append(own);
        expect(own.bytes).toBe(0);
        live.add(key);
      }
      // decode steps: one new column per live sequence
      for (let s = 0; s < 9; s++) {
        const keys = [...live];
        shared.advance(pass(truth, keys, normal), keys);
        expect(shared.bytes).toBeLessThanOrEqual(shared.limit * columnBytes);
      }
      check(backend, shared, truth, [...live]);
      // every third round the two oldest leave: the buffer shrinks to what is left
      if (round % 3 === 2) {
        const leaving = [...live].slice(0, 2);
        for (const k of leaving) live.delete(k);
        shared.drop(new Set(leaving));
        expect(shared.columns).toBe(used());
        expect(shared.bytes).toBe(used() * columnBytes);
        check(backend, shared, truth, [...live]);
      }
    }
    shared.drop(new Set(live));
    expect(shared.bytes).toBe(0);
    expect(backend.memory().tensorBytes).toBe(0);
  });
});
