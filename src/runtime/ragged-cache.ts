/**
 * The KV cache of many sequences in one buffer per layer, ragged (the batched graph's layout,
 * src/builder/batch-graph.ts): `[kv_heads, C, head_dim]` where each used column belongs to one
 * sequence at one position, interleaved across sequences. A pass reads it and outputs only its N new
 * columns; the host writes them after the used ones in place (`EngineBackend.write`), so a step
 * copies N columns, not the cache. Resident in the backend between passes.
 *
 * Memory: the buffer grows by doubling (at least 64 columns more), never beyond `limit` (the columns
 * the sequences in it may reach: what admission control charged), and shrinks
 * to the used columns when sequences leave, so a leaver's memory is freed at once. Growing and
 * shrinking read the buffer back and write a new one with the used columns packed at the front;
 * a joining cache's columns are read back and written after them.
 *
 * @example
 * const cache = new RaggedCache(backend, arch);
 * const { outputs } = await session.run({ ...cache.feeds(rowKeys), ...rest }, new Set());
 * cache.advance(outputs, rowKeys);
 */
import type { EngineBackend, HostTensor, ResidentTensor } from "./backend.ts";
import { batchIo, io, type Architecture } from "./manifest.ts";

/**
 * Growth headroom: as many columns as are used, at least this many. Each growth copies the whole
 * buffer, so doubling copies each column a bounded number of times; growing by a quarter (as
 * before) rebuilt the buffer ~8 times for eight SmolLM2 streams of 32 + 128 tokens, ~0.4 s of ~14 s.
 */
const MIN_HEADROOM = 64;

export class RaggedCache {
  /** Most columns the buffer may hold (the reservations of the sequences in it); unbounded by default. */
  limit = Infinity;
  /** each sequence's columns, in position order */
  private readonly columnsOf = new Map<number, number[]>();
  /** columns in use: always the first ones (growing and shrinking pack them), the rest are free */
  private used = 0;
  private capacity = 0;
  /** per layer: [key, value] buffers `[KV, capacity, hd]` */
  private buffers: Array<[ResidentTensor, ResidentTensor]> | undefined;
  private readonly backend: EngineBackend;
  private readonly layers: number;
  private readonly kvHeads: number;
  private readonly headDim: number;

  constructor(backend: EngineBackend, arch: Architecture) {
    if (!backend.read || !backend.write) throw new Error(`the ${backend.name} backend cannot read and write tensors in place`);
    this.backend = backend;
    this.layers = arch.num_hidden_layers;
    this.kvHeads = arch.num_key_value_heads;
    this.headDim = arch.head_dim;
  }

  /** Columns in use. */
  get columns(): number {
    return this.used;
  }

  /** Bytes the cache holds in the backend. */
  get bytes(): number {
    return this.buffers ? 2 * this.layers * this.kvHeads * this.capacity * this.headDim * 4 : 0;
  }

  /**
   * The pass's cache inputs for its rows (`rowKeys`, in order): the buffers as `past`, and each
   * row's own columns (`row_columns`, padded to the longest row, `row_lengths`).
   */
  feeds(rowKeys: readonly number[]): Record<string, HostTensor | ResidentTensor> {
    const own = rowKeys.map((k) => this.columnsOf.get(k) ?? []);
    const L = Math.max(0, ...own.map((c) => c.length));
    const rowColumns = new BigInt64Array(rowKeys.length * L); // padding points at column 0, masked
    own.forEach((cols, b) => cols.forEach((j, i) => (rowColumns[b * L + i] = BigInt(j))));
    const feeds: Record<string, HostTensor | ResidentTensor> = {
      [batchIo.rowColumns]: { type: "int64", data: rowColumns, dims: [rowKeys.length, L] },
      [batchIo.rowLengths]: { type: "int64", data: BigInt64Array.from(own, (c) => BigInt(c.length)), dims: [rowKeys.length] },
    };
    for (let l = 0; l < this.layers; l++) {
      feeds[io.pastKey(l)] = this.buffers?.[l]![0] ?? this.empty();
      feeds[io.pastValue(l)] = this.buffers?.[l]![1] ?? this.empty();
    }
    return feeds;
  }

  /** After a pass: its `present` outputs (`[KV, N, hd]`, token order) go into free columns; `tokenKeys[t]` owns token t. */
  advance(outputs: Record<string, HostTensor>, tokenKeys: readonly number[]): void {
    const N = tokenKeys.length;
    if (N === 0) return;
    const start = this.take(N);
    for (let l = 0; l < this.layers; l++) {
      for (const [side, name] of [[0, io.presentKey(l)], [1, io.presentValue(l)]] as const) {
        const data = outputs[name]?.data;
        if (!(data instanceof Float32Array) || data.length !== this.kvHeads * N * this.headDim) throw new Error(`output '${name}' is not [${this.kvHeads}, ${N}, ${this.headDim}] float32`);
        this.writeColumns(this.buffers![l]![side], data, N, start);
      }
    }
    tokenKeys.forEach((k, t) => {
      const cols = this.columnsOf.get(k);
      if (cols) cols.push(start + t);
      else this.columnsOf.set(k, [start + t]);
    });
  }

  /** Move `other`'s sequences into this cache (their columns copied in, in order); `other` is emptied. */
  append(other: RaggedCache): void {
    if (!other.buffers || other.columns === 0) return other.dispose();
    const moving = [...other.columnsOf.entries()];
    const n = other.columns;
    const start = this.take(n);
    const order = moving.flatMap(([, cols]) => cols); // other's columns in the order they land from `start` on
    for (let l = 0; l < this.layers; l++) {
      for (const side of [0, 1] as const) {
        const src = this.read(other.buffers[l]![side]);
        this.writeColumns(this.buffers![l]![side], gatherColumns(src, this.kvHeads, other.capacity, this.headDim, order), n, start);
      }
    }
    let at = start;
    for (const [k, cols] of moving) {
      this.columnsOf.set(k, cols.map((_, i) => at + i));
      at += cols.length;
    }
    other.dispose();
  }

  /** Drop the columns of the sequences in `keys`; the buffer shrinks to the columns left (their memory is freed now). */
  drop(keys: ReadonlySet<number>): void {
    let dropped = false;
    for (const k of keys) dropped = this.columnsOf.delete(k) || dropped;
    if (!dropped) return;
    if (this.columnsOf.size === 0) return this.dispose();
    this.rebuild(0);
  }

  /** Free everything; the cache is empty again. Idempotent. */
  dispose(): void {
    this.disposeBuffers();
    this.buffers = undefined;
    this.columnsOf.clear();
    this.used = 0;
    this.capacity = 0;
  }

  /** The first of `n` free columns, taken: the buffer grows first (doubling, within `limit`) when too few are free. */
  private take(n: number): number {
    if (this.capacity - this.used < n) {
      const headroom = Math.max(MIN_HEADROOM, this.used);
      this.rebuild(Math.max(n, Math.min(n + headroom, this.limit - this.used)));
    }
    this.used += n;
    return this.used - n;
  }

  /** A new buffer holding the used columns packed at the front (each sequence's in order) and `spare` free ones. */
  private rebuild(spare: number): void {
    const order = [...this.columnsOf.values()].flat();
    const C = order.length + spare;
    const next: Array<[ResidentTensor, ResidentTensor]> = [];
    try {
      for (let l = 0; l < this.layers; l++) {
        const pair = ([0, 1] as const).map((side) => {
          const data = this.buffers && order.length ? gatherColumns(this.read(this.buffers[l]![side]), this.kvHeads, this.capacity, this.headDim, order, C) : new Float32Array(this.kvHeads * C * this.headDim);
          return this.backend.upload({ type: "float32", data, dims: [this.kvHeads, C, this.headDim] });
        });
        next.push(pair as [ResidentTensor, ResidentTensor]);
      }
    } catch (e) {
      for (const pair of next) for (const t of pair) t.dispose();
      throw e;
    }
    this.disposeBuffers();
    this.buffers = next;
    this.capacity = C;
    let at = 0;
    for (const [k, cols] of this.columnsOf) {
      this.columnsOf.set(k, cols.map((_, i) => at + i));
      at += cols.length;
    }
    this.used = at;
  }

  /** Write `data` `[KV, n, hd]` into columns `start`… of `target` `[KV, capacity, hd]`, one write per head. */
  private writeColumns(target: ResidentTensor, data: Float32Array, n: number, start: number): void {
    const hd = this.headDim;
    for (let h = 0; h < this.kvHeads; h++) this.backend.write!(target, (h * this.capacity + start) * hd, data.subarray(h * n * hd, (h + 1) * n * hd));
  }

  private read(t: ResidentTensor): Float32Array {
    return this.backend.read!(t).data as Float32Array;
  }

  private disposeBuffers() {
    for (const pair of this.buffers ?? []) for (const t of pair) t.dispose();
  }

  private empty(): HostTensor {
    return { type: "float32", data: new Float32Array(0), dims: [this.kvHeads, 0, this.headDim] };
  }
}

/** Columns `order` of `src` `[KV, C, hd]` as `[KV, width, hd]` (the rest zero), width = order.length unless given. */
function gatherColumns(src: Float32Array, KV: number, C: number, hd: number, order: readonly number[], width = order.length): Float32Array {
  const out = new Float32Array(KV * width * hd);
  for (let h = 0; h < KV; h++) {
    for (let i = 0; i < order.length; ) {
      let run = 1;
      while (i + run < order.length && order[i + run] === order[i]! + run) run++;
      out.set(src.subarray((h * C + order[i]!) * hd, (h * C + order[i]! + run) * hd), (h * width + i) * hd);
      i += run;
    }
  }
  return out;
}
