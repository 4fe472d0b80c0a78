/**
 * Per-isolate adapter cache: least recently used first out, bounded by bytes, one load per missing
 * id however many requests ask at once (single flight), and never evicting an adapter a running
 * generation holds a lease on. Pinned adapters may keep the cache over budget; `stats().overBudget`
 * says so, and the excess is evicted as soon as leases are released.
 */
import type { PreparedAdapter } from "./prepare.ts";

export type AdapterCacheOptions = {
  /** Byte budget for resident entries (sum of their `bytes`). */
  maxBytes: number;
};

export type AdapterCacheStats = {
  /** gets that found the adapter resident */
  hits: number;
  /** gets that did not (including those that joined a load already under way) */
  misses: number;
  /** loads started (N concurrent misses of one id → 1) */
  loads: number;
  /** loads that threw */
  loadErrors: number;
  evictions: number;
  bytes: number;
  entries: number;
  /** entries with at least one lease */
  pinned: number;
  maxBytes: number;
  /** bytes > maxBytes because leased adapters cannot be evicted */
  overBudget: boolean;
};

/** A hold on a cached adapter for the duration of one generation; release exactly once (extra calls are ignored). */
export type AdapterLease<T = PreparedAdapter> = { id: string; adapter: T; release(): void };

type Entry<T> = { adapter: T; bytes: number; leases: number; stale: boolean };
type Flight<T> = { promise: Promise<Entry<T>>; leases: number };

/**
 * @example
 * const cache = new AdapterCache({ maxBytes: 48 << 20 });
 * const lease = await cache.acquire("legal@3", () => loadFromR2("legal@3"));
 * try { await generate({ feeds: composeAdapters(arch, [{ adapter: lease.adapter, weight: 1 }]) }); } finally { lease.release(); }
 */
export class AdapterCache<T extends { bytes: number } = PreparedAdapter> {
  readonly maxBytes: number;
  // Map iteration order is insertion order: re-inserting on use makes the first key the LRU one.
  private readonly entries = new Map<string, Entry<T>>();
  private readonly flights = new Map<string, Flight<T>>();
  private bytes = 0;
  private counters = { hits: 0, misses: 0, loads: 0, loadErrors: 0, evictions: 0 };

  constructor(options: AdapterCacheOptions) {
    if (!(options.maxBytes >= 0)) throw new RangeError(`maxBytes must be ≥ 0, got ${options.maxBytes}`);
    this.maxBytes = options.maxBytes;
  }

  /**
   * The adapter for `id`, loading it with `load` if absent (concurrent callers share one load). The
   * adapter may be evicted once no lease holds it: use `acquire` for the length of a generation.
   *
   * @example const adapter = await cache.get("legal@3", () => loadFromR2("legal@3"));
   */
  async get(id: string, load: () => Promise<T>): Promise<T> {
    return (await this.lookup(id, load, false)).adapter;
  }

  /**
   * Like `get`, and pins the adapter until `release()`: it is not evicted while leased.
   *
   * @example const lease = await cache.acquire(id, load); try { … } finally { lease.release(); }
   */
  async acquire(id: string, load: () => Promise<T>): Promise<AdapterLease<T>> {
    const entry = await this.lookup(id, load, true);
    let released = false;
    return {
      id,
      adapter: entry.adapter,
      release: () => {
        if (released) return;
        released = true;
        this.unpin(id, entry);
      },
    };
  }

  /** Whether `id` is resident (no effect on recency). */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * Drop `id` (e.g. a new version was registered); a leased adapter goes when its last lease ends.
   *
   * @example cache.delete("legal@3")
   */
  delete(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    if (e.leases > 0) e.stale = true;
    else this.remove(id, e, false);
    return true;
  }

  /** Counters and occupancy. @example cache.stats() // { hits: 41, misses: 3, loads: 2, evictions: 1, bytes: 9437184, entries: 2, … } */
  stats(): AdapterCacheStats {
    let pinned = 0;
    for (const e of this.entries.values()) if (e.leases > 0) pinned++;
    return { ...this.counters, bytes: this.bytes, entries: this.entries.size, pinned, maxBytes: this.maxBytes, overBudget: this.bytes > this.maxBytes };
  }

  private lookup(id: string, load: () => Promise<T>, pin: boolean): Promise<Entry<T>> {
    const e = this.entries.get(id);
    if (e && !e.stale) {
      this.counters.hits++;
      this.entries.delete(id); // move to most recent
      this.entries.set(id, e);
      if (pin) e.leases++;
      return Promise.resolve(e);
    }
    this.counters.misses++;
    let flight = this.flights.get(id);
    if (!flight) flight = this.startLoad(id, load);
    // Leases taken while loading are applied when the entry is inserted, before any eviction runs.
    if (pin) flight.leases++;
    return flight.promise;
  }

  private startLoad(id: string, load: () => Promise<T>): Flight<T> {
    this.counters.loads++;
    const flight: Flight<T> = { leases: 0, promise: undefined as unknown as Promise<Entry<T>> };
    flight.promise = (async () => {
      let adapter: T;
      try {
        adapter = await load();
      } finally {
        this.flights.delete(id);
      }
      const old = this.entries.get(id);
      if (old) this.remove(id, old, false); // a stale version still leased: it leaves the cache now
      const entry: Entry<T> = { adapter, bytes: adapter.bytes, leases: flight.leases, stale: false };
      this.entries.set(id, entry);
      this.bytes += adapter.bytes;
      this.evict();
      return entry;
    })();
    flight.promise.catch(() => this.counters.loadErrors++);
    this.flights.set(id, flight);
    return flight;
  }

  private unpin(id: string, entry: Entry<T>): void {
    if (entry.leases === 0) return;
    entry.leases--;
    if (this.entries.get(id) !== entry) return; // replaced or evicted meanwhile
    if (entry.leases === 0 && entry.stale) this.remove(id, entry, false);
    this.evict();
  }

  /** Evict least recently used unleased entries until within budget. */
  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const [id, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (e.leases === 0) this.remove(id, e, true);
    }
  }

  private remove(id: string, e: Entry<T>, eviction: boolean): void {
    this.entries.delete(id);
    this.bytes -= e.bytes;
    if (eviction) this.counters.evictions++;
  }
}
