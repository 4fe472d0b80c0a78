/**
 * The KV cache of many sequences in one tensor per layer, ragged (the batched graph's layout,
 * src/builder/batch-graph.ts): `[kv_heads, P, head_dim]` where each of the P columns belongs to
 * one sequence (`rows`) at one position (`positions`). A pass appends its new columns at the end;
 * a sequence leaves by dropping its columns, which frees their memory at once. Resident in the
 * backend between passes; only dropping columns, and joining several sequences' caches at once, read
 * it back (the backend's `read`).
 *
 * @example
 * const cache = new RaggedCache(backend, arch);
 * const { logits, kept } = await session.run({ ...cache.feeds(rowKeys, 1), ...rest }, cache.presents);
 * cache.advance(kept, newRows, newPositions);
 */
import type { EngineBackend, HostTensor, ResidentTensor } from "./backend.ts";
import { batchIo, io, type Architecture } from "./manifest.ts";

export class RaggedCache {
  /** the sequence key of each column */
  rows: number[] = [];
  /** each column's position in its sequence */
  positions: number[] = [];
  readonly presents: ReadonlySet<string>;
  private past: Record<string, ResidentTensor> | undefined;
  private readonly backend: EngineBackend;
  private readonly layers: number;
  private readonly kvHeads: number;
  private readonly headDim: number;

  constructor(backend: EngineBackend, arch: Architecture) {
    this.backend = backend;
    this.layers = arch.num_hidden_layers;
    this.kvHeads = arch.num_key_value_heads;
    this.headDim = arch.head_dim;
    this.presents = new Set(this.pairs().map(([, present]) => present));
  }

  get columns(): number {
    return this.rows.length;
  }

  /** Bytes the cache holds in the backend. */
  get bytes(): number {
    return this.past ? Object.values(this.past).reduce((n, t) => n + t.byteLength, 0) : 0;
  }

  /**
   * The pass's cache inputs: this cache as `past`, and `join` (another sequence's own cache, or
   * none) as `join`, with `past_positions` describing both, in that order; and for the pass's rows
   * (`rowKeys`, each feeding `S` new tokens after them) `row_columns`/`row_lengths`: the columns of
   * `present` (past, join, new) that belong to each row, in order, padded to the longest.
   */
  feeds(rowKeys: readonly number[], S: number, join?: RaggedCache): Record<string, HostTensor | ResidentTensor> {
    const columns = new Map<number, number[]>(rowKeys.map((k) => [k, []]));
    const owners = [...this.rows, ...(join?.rows ?? []), ...rowKeys.flatMap((k) => Array<number>(S).fill(k))];
    owners.forEach((k, j) => columns.get(k)?.push(j));
    const L = Math.max(...rowKeys.map((k) => columns.get(k)!.length));
    const rowColumns = new BigInt64Array(rowKeys.length * L); // padding points at column 0, masked
    rowKeys.forEach((k, b) => columns.get(k)!.forEach((j, i) => (rowColumns[b * L + i] = BigInt(j))));
    const feeds: Record<string, HostTensor | ResidentTensor> = {
      [batchIo.pastPositions]: int64([...this.positions, ...(join?.positions ?? [])]),
      [batchIo.rowColumns]: { type: "int64", data: rowColumns, dims: [rowKeys.length, L] },
      [batchIo.rowLengths]: int64(rowKeys.map((k) => columns.get(k)!.length)),
    };
    for (let l = 0; l < this.layers; l++) {
      feeds[io.pastKey(l)] = this.past?.[io.pastKey(l)] ?? this.empty();
      feeds[io.pastValue(l)] = this.past?.[io.pastValue(l)] ?? this.empty();
      feeds[batchIo.joinKey(l)] = join?.past?.[io.pastKey(l)] ?? this.empty();
      feeds[batchIo.joinValue(l)] = join?.past?.[io.pastValue(l)] ?? this.empty();
    }
    return feeds;
  }

  /** After a pass: its kept `present`s become the past (absorbing `join`, which is then emptied). */
  advance(kept: Record<string, ResidentTensor>, newRows: readonly number[], newPositions: readonly number[], join?: RaggedCache): void {
    this.disposePast();
    this.past = Object.fromEntries(this.pairs().map(([past, present]) => [past, kept[present]!]));
    if (join) {
      this.rows.push(...join.rows);
      this.positions.push(...join.positions);
      join.dispose();
    }
    this.rows.push(...newRows);
    this.positions.push(...newPositions);
  }

  /** Move `other`'s columns after this cache's (read back, concatenated, uploaded); `other` is emptied. */
  append(other: RaggedCache): void {
    if (!other.past) return;
    if (!this.past) {
      [this.past, other.past] = [other.past, undefined];
    } else {
      const read = this.readFn();
      const [P, Q, hd] = [this.rows.length, other.rows.length, this.headDim];
      this.replacePast((name, t) => {
        const a = read(t).data as Float32Array; // [KV, P, hd]
        const b = read(other.past![name]!).data as Float32Array; // [KV, Q, hd]
        const out = new Float32Array(this.kvHeads * (P + Q) * hd);
        for (let h = 0; h < this.kvHeads; h++) {
          out.set(a.subarray(h * P * hd, (h + 1) * P * hd), h * (P + Q) * hd);
          out.set(b.subarray(h * Q * hd, (h + 1) * Q * hd), (h * (P + Q) + P) * hd);
        }
        return { data: out, columns: P + Q };
      });
    }
    this.rows.push(...other.rows);
    this.positions.push(...other.positions);
    other.dispose();
  }

  /** Drop the columns of the sequences in `keys`: read back, keep the rest, upload again. */
  drop(keys: ReadonlySet<number>): void {
    const keep = this.rows.flatMap((k, j) => (keys.has(k) ? [] : [j]));
    if (keep.length === this.rows.length) return;
    if (keep.length === 0 || !this.past) return this.dispose();
    const read = this.readFn();
    const [P, hd] = [this.rows.length, this.headDim];
    this.replacePast((_, t) => {
      const data = read(t).data as Float32Array; // [KV, P, hd]
      const out = new Float32Array(this.kvHeads * keep.length * hd);
      for (let h = 0; h < this.kvHeads; h++) {
        keep.forEach((j, i) => out.set(data.subarray((h * P + j) * hd, (h * P + j + 1) * hd), (h * keep.length + i) * hd));
      }
      return { data: out, columns: keep.length };
    });
    this.rows = keep.map((j) => this.rows[j]!);
    this.positions = keep.map((j) => this.positions[j]!);
  }

  /** Every past tensor rewritten in JS and uploaded again; the old ones freed. */
  private replacePast(rewrite: (name: string, t: ResidentTensor) => { data: Float32Array; columns: number }): void {
    const next: Record<string, ResidentTensor> = {};
    try {
      for (const [name, t] of Object.entries(this.past!)) {
        const { data, columns } = rewrite(name, t);
        next[name] = this.backend.upload({ type: "float32", data, dims: [this.kvHeads, columns, this.headDim] });
      }
    } catch (e) {
      for (const t of Object.values(next)) t.dispose();
      throw e;
    }
    this.disposePast();
    this.past = next;
  }

  private readFn(): (t: ResidentTensor) => HostTensor {
    const read = this.backend.read;
    if (!read) throw new Error(`the ${this.backend.name} backend cannot read tensors back`);
    return (t) => read.call(this.backend, t);
  }

  /** Free everything; the cache is empty again. Idempotent. */
  dispose(): void {
    this.disposePast();
    this.past = undefined;
    this.rows = [];
    this.positions = [];
  }

  private disposePast() {
    if (this.past) for (const t of Object.values(this.past)) t.dispose();
  }

  private pairs(): Array<[string, string]> {
    return Array.from({ length: this.layers }, (_, l): Array<[string, string]> => [
      [io.pastKey(l), io.presentKey(l)],
      [io.pastValue(l), io.presentValue(l)],
    ]).flat();
  }

  private empty(): HostTensor {
    return { type: "float32", data: new Float32Array(0), dims: [this.kvHeads, 0, this.headDim] };
  }
}

function int64(values: readonly number[]): HostTensor {
  return { type: "int64", data: BigInt64Array.from(values, (v) => BigInt(v)), dims: [values.length] };
}
