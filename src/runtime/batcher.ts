/**
 * Continuous batching: one decode step for every sequence being decoded, in one forward pass of
 * the batched graph, each row with its own adapter, position and KV cache columns.
 *
 * A sequence's life: it **prefills alone**, its prompt `prefillChunk` tokens per pass, into its own
 * cache (one chunk per turn, between decode steps, so running sequences wait at most one chunk;
 * a prompt's pass is already wide, M = chunk, and keeping it off the shared cache bounds attention's
 * scratch memory by the prompt, not the batch). A turn with nothing decoding delays no one, so it
 * prefills one chunk's worth per waiting sequence, first come first served, and ends: a burst of
 * short prompts gets its first tokens together and joins in one step, with one LoRA stack build,
 * instead of a few sequences a turn (and of long prompts the first still finishes first). Its first
 * token is sampled from the prefill's logits.
 * It then **joins** at the next step (its cache columns are copied into the shared cache's buffer),
 * and from then on each step feeds its last token and samples its next one from its row of logits
 * (the step's new KV columns are written into the buffer in place, src/runtime/ragged-cache.ts). It
 * **leaves** between steps when it stops (a stop id, `maxTokens`) or its consumer goes away (a stop
 * string, an abort, a disconnect: `leave()`); its cache columns are dropped and, if it carried an
 * adapter, the LoRA stacks rebuilt without it (a base row joining or leaving only moves
 * `lora_rows`), so its memory is freed at once.
 *
 * Sampling runs here, right after each step, with the request's own seeded sampler, so a slow reader
 * never holds up the batch: tokens wait in the sequence's queue (ids only) until it reads them.
 * Stop strings, detokenisation and events stay with the caller (`Engine.generate`).
 *
 * **Who runs the turns:** the readers. A reader whose queue is empty awaits the turn in flight, or
 * runs the next one itself (`pull`); the batcher has no loop or timer of its own, so it works the
 * same in Node and in a Worker, where workerd binds timers, promises and I/O objects to the request
 * that made them (a loop started by one request stalled the others once that request ended). For the
 * same reason a turn never touches another request's I/O objects: an abort reaches the batcher as a
 * flag set by the aborted request's own listener. Nobody reading means no turns: back-pressure.
 *
 * @example
 * const seq = batcher.add({ promptIds, sample, maxTokens: 32, stopIds: new Set([2]) });
 * for (let id; (id = await seq.next()) !== undefined; ) out.push(id);
 */
import type { BackendSession, EngineBackend, HostTensor, ResidentTensor } from "./backend.ts";
import type { LoraFeeds } from "./lora-feeds.ts";
import { loraRows, loraStacks } from "./lora-stacks.ts";
import { batchIo, io, type Architecture } from "./manifest.ts";
import { RaggedCache } from "./ragged-cache.ts";

export type BatchRequest = {
  promptIds: readonly number[];
  lora?: LoraFeeds | undefined;
  /** the request's sampler: logits of one row → the next id */
  sample: (logits: Float32Array) => number;
  maxTokens: number;
  stopIds: ReadonlySet<number>;
  signal?: AbortSignal | undefined;
  /** prompt tokens per prefill pass */
  prefillChunk: number;
};

/** A sequence in the batcher, as its caller sees it. */
export interface BatchedSequence {
  /** The next sampled id; `undefined` once the sequence stopped (a stop id is returned first). */
  next(): Promise<number | undefined>;
  /** Milliseconds from the first prefill pass to the first token (0 until then). */
  readonly prefillMs: number;
  /** Leave the batch (idempotent); memory is freed before the next step. */
  leave(): void;
}

type Phase = "prefill" | "ready" | "decode" | "done";

class Member implements BatchedSequence {
  readonly key: number;
  readonly req: BatchRequest;
  phase: Phase = "prefill";
  /** tokens in the cache */
  length = 0;
  /** ids sampled */
  produced = 0;
  /** the last sampled id: the next step's input */
  last = -1;
  /** own cache while prefilling (it joins the shared one) and own LoRA stack */
  own: RaggedCache;
  ownLora: Record<string, ResidentTensor> | undefined;
  prefillMs = 0;
  prefillStart = 0;
  left = false;
  /** sampled ids its reader has not taken yet */
  readonly queue: number[] = [];
  error: unknown;
  /**
   * The request's abort, as a plain flag: the signal is an I/O object of the request that made it,
   * which workerd forbids touching from another request's context (a turn run by another reader).
   */
  aborted: { reason: unknown } | undefined;
  private readonly batcher: Batcher;
  /** an abort frees the sequence's memory at once, whether or not its reader is waiting */
  private readonly onAbort = () => {
    this.aborted = { reason: this.req.signal!.reason };
    this.batcher.onLeave();
  };

  constructor(key: number, req: BatchRequest, own: RaggedCache, batcher: Batcher) {
    this.key = key;
    this.req = req;
    this.own = own;
    this.batcher = batcher;
    if (req.signal?.aborted) this.aborted = { reason: req.signal.reason };
    else req.signal?.addEventListener("abort", this.onAbort);
  }

  next(): Promise<number | undefined> {
    return this.batcher.pull(this);
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.req.signal?.removeEventListener("abort", this.onAbort);
    this.batcher.onLeave();
  }

  /** Hand a sampled id to the reader; the sequence stops after a stop id or `maxTokens`. */
  push(id: number): void {
    this.produced++;
    this.last = id;
    if (this.req.stopIds.has(id) || this.produced >= this.req.maxTokens) this.phase = "done";
    this.queue.push(id);
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.phase = "done";
  }

  /** Gone from the batch: left, aborted, or stopped and not in the decode set any more. */
  get gone(): boolean {
    return this.left || this.aborted !== undefined || this.phase === "done";
  }
}

export class Batcher {
  private readonly session: Promise<BackendSession>;
  private readonly backend: EngineBackend;
  private readonly arch: Architecture;
  private readonly cache: RaggedCache;
  private prefilling: Member[] = [];
  private ready: Member[] = [];
  /** the rows of the decode step, in order (the LoRA stacks' order) */
  private decoding: Member[] = [];
  private stacks: Record<string, ResidentTensor> | undefined;
  private nextKey = 0;
  /** the turn being run, which readers that need a token await */
  private turnInFlight: Promise<void> | undefined;
  /** a pass is running: the caches and stacks are in use */
  private inPass = false;
  /** counters for tests and benches */
  readonly stats = { steps: 0, rowsStepped: 0, widestStep: 0, prefillPasses: 0, stackRebuilds: 0 };

  constructor(backend: EngineBackend, session: Promise<BackendSession>, arch: Architecture) {
    this.backend = backend;
    this.session = session;
    this.arch = arch;
    this.cache = new RaggedCache(backend, arch);
  }

  /** Sequences in the batcher: prefilling, waiting to join, decoding. */
  get size(): { prefilling: number; ready: number; decoding: number } {
    return { prefilling: this.prefilling.length, ready: this.ready.length, decoding: this.decoding.length };
  }

  /** Add a sequence; it prefills, then decodes with the others, as its reader pulls, until it stops or leaves. */
  add(req: BatchRequest): BatchedSequence {
    const m = new Member(this.nextKey++, req, new RaggedCache(this.backend, this.arch), this);
    this.prefilling.push(m);
    return m;
  }

  /** A sequence left: free its memory now unless a pass is using it (then when the pass ends). */
  onLeave(): void {
    if (!this.inPass) this.reap();
  }

  /**
   * `m`'s next id: from its queue, or after the turn in flight, or after a turn this caller runs.
   * Turns are driven by the readers that need a token, in their own request's context, never by a
   * loop or timer of the batcher's own: workerd binds timers and promises to the request that made
   * them, so a loop started by one request would stall the others once that request ends. A turn
   * holds no timer and its pass runs to the end once started (ORT's run), so a reader awaiting
   * another request's turn is resumed even if that request goes away meanwhile.
   */
  async pull(m: Member): Promise<number | undefined> {
    for (;;) {
      if (m.aborted) throw m.aborted.reason;
      if (m.queue.length) return m.queue.shift();
      if (m.error !== undefined) throw m.error;
      if (m.phase === "done" || m.left) return undefined;
      if (this.turnInFlight) {
        await this.turnInFlight;
        continue;
      }
      await yieldToEventLoop(); // a turn's worth of readers take their tokens and new requests arrive
      if (!this.turnInFlight && !m.queue.length) this.turnInFlight = this.turn().finally(() => (this.turnInFlight = undefined));
    }
  }

  /** One turn: up to one chunk's worth of prompt tokens prefilled, then one decode step of every decoding sequence (or, with none, one chunk's worth per waiting prompt). */
  private async turn(): Promise<void> {
    try {
      this.reap();
      // nothing decoding or waiting to: no one waits on prefill
      const cold = !this.decoding.length && !this.ready.length;
      if (cold) {
        // one chunk's worth per waiting sequence, first come first served (a burst of short prompts
        // joins in one step, with one stack build; of long ones the first finishes first), and the
        // turn ends there: their first tokens go out now, not after a step
        const budget = this.prefilling.reduce((n, m) => n + m.req.prefillChunk, 0);
        for (let spent = 0; this.prefilling.length && spent < budget; ) spent += await this.prefillChunk(this.prefilling[0]!);
      } else {
        // prefill up to one chunk's worth of prompt tokens per turn (several short prompts, or one chunk of a long one)
        for (let budget = 0; this.prefilling.length && budget < this.prefilling[0]!.req.prefillChunk; ) budget += await this.prefillChunk(this.prefilling[0]!);
      }
      this.reap();
      if (!cold && (this.decoding.length || this.ready.length)) await this.step();
      this.reap(); // a sequence that stopped or left during the turn frees its memory now, not at the next turn
    } catch (err) {
      for (const m of [...this.prefilling, ...this.ready, ...this.decoding]) {
        m.fail(err);
        this.free(m);
      }
      this.prefilling = [];
      this.ready = [];
      this.decoding = [];
      this.dropStacks();
      this.cache.dispose();
    }
  }

  /** Remove sequences that stopped or left, and free what they held. */
  private reap(): void {
    const gone = (list: Member[]) => list.filter((m) => m.gone);
    for (const m of [...gone(this.prefilling), ...gone(this.ready)]) this.free(m);
    this.prefilling = this.prefilling.filter((m) => !m.gone);
    this.ready = this.ready.filter((m) => !m.gone);
    const leaving = gone(this.decoding);
    if (!leaving.length) return;
    for (const m of leaving) if (m.aborted) m.fail(m.aborted.reason);
    this.decoding = this.decoding.filter((m) => !m.gone);
    if (this.decoding.length) this.cache.drop(new Set(leaving.map((m) => m.key)));
    else this.cache.dispose();
    // an adapter's rows leave the stacks at once (their memory); a base row only shifts `lora_rows`
    if (!this.decoding.length || leaving.some((m) => m.req.lora)) this.dropStacks();
    else if (this.stacks) {
      this.stacks[batchIo.loraRows]!.dispose();
      this.stacks[batchIo.loraRows] = this.backend.upload(loraRows(this.decoding.map((m) => m.req.lora)));
    }
  }

  private free(m: Member): void {
    if (m.aborted) m.fail(m.aborted.reason);
    m.own.dispose();
    disposeAll(m.ownLora);
    m.ownLora = undefined;
  }

  /** One prefill pass of `m`'s next prompt chunk, alone, into its own cache; returns the tokens it ran. */
  private async prefillChunk(m: Member): Promise<number> {
    const { promptIds, prefillChunk } = m.req;
    if (m.length === 0) {
      m.prefillStart = performance.now();
      m.own.limit = promptIds.length; // prefill fills its own cache with the prompt, no more
      m.ownLora = this.upload(loraStacks(this.arch, [m.req.lora]));
    }
    const ids = promptIds.slice(m.length, m.length + prefillChunk);
    const logits = await this.pass(m.own, [m], [ids], m.ownLora!);
    this.stats.prefillPasses++;
    m.length += ids.length;
    if (m.gone) this.reap();
    if (m.length < promptIds.length || m.gone) return ids.length;
    m.prefillMs = performance.now() - m.prefillStart;
    disposeAll(m.ownLora);
    m.ownLora = undefined;
    this.prefilling = this.prefilling.filter((x) => x !== m);
    m.push(m.req.sample(logits));
    if (m.phase === "done") m.own.dispose();
    else {
      m.phase = "ready";
      this.ready.push(m);
    }
    return ids.length;
  }

  /** One decode step of every decoding sequence, the ready ones joining (their caches moved into the shared one). */
  private async step(): Promise<void> {
    const joining = this.ready;
    this.ready = [];
    // the shared buffer may hold what its sequences were admitted for: prompt + completion each
    this.cache.limit = [...this.decoding, ...joining].reduce((n, m) => n + m.req.promptIds.length + m.req.maxTokens, 0);
    for (const m of joining) {
      this.cache.append(m.own);
      m.phase = "decode";
      this.decoding.push(m);
      if (m.req.lora) this.dropStacks(); // a base row joins after every adapter row: `lora_rows` stays as it is
    }
    if (!this.stacks) {
      this.stacks = this.upload(loraStacks(this.arch, this.decoding.map((m) => m.req.lora)));
      this.stats.stackRebuilds++;
    }
    const rows = this.decoding;
    const logits = await this.pass(this.cache, rows, rows.map((m) => [m.last]), this.stacks);
    this.stats.steps++;
    this.stats.rowsStepped += rows.length;
    this.stats.widestStep = Math.max(this.stats.widestStep, rows.length);
    const V = this.arch.vocab_size;
    rows.forEach((m, b) => {
      m.length++;
      if (!m.gone) m.push(m.req.sample(logits.subarray(b * V, (b + 1) * V)));
    });
  }

  /**
   * One pass of the batched graph: row b feeds `ids[b]` (all rows the same length) after its
   * columns in `cache`, whose buffer then takes the new columns; returns logits `[B, vocab]`, each
   * row's last position.
   */
  private async pass(cache: RaggedCache, rows: Member[], ids: number[][], lora: Record<string, ResidentTensor>): Promise<Float32Array> {
    this.inPass = true;
    try {
      const session = await this.session;
      const S = ids[0]!.length;
      const positions = rows.flatMap((m) => Array.from({ length: S }, (_, i) => m.length + i));
      const feeds: Record<string, HostTensor | ResidentTensor> = {
        ...cache.feeds(rows.map((m) => m.key)),
        ...lora,
        [io.inputIds]: { type: "int64", data: BigInt64Array.from(ids.flat(), BigInt), dims: [rows.length, S] },
        [batchIo.positions]: { type: "int64", data: BigInt64Array.from(positions, BigInt), dims: [rows.length, S] },
      };
      const { outputs } = await session.run(feeds, KEEP_NONE);
      cache.advance(outputs, rows.flatMap((m) => Array<number>(S).fill(m.key)));
      return outputs[io.logits]!.data as Float32Array;
    } finally {
      this.inPass = false;
    }
  }

  private upload(tensors: Record<string, HostTensor>): Record<string, ResidentTensor> {
    const out: Record<string, ResidentTensor> = {};
    try {
      for (const [name, t] of Object.entries(tensors)) out[name] = this.backend.upload(t);
    } catch (e) {
      disposeAll(out);
      throw e;
    }
    return out;
  }

  private dropStacks(): void {
    disposeAll(this.stacks);
    this.stacks = undefined;
  }
}

const KEEP_NONE: ReadonlySet<string> = new Set();

function disposeAll(tensors: Record<string, ResidentTensor> | undefined): void {
  for (const t of Object.values(tensors ?? {})) t.dispose();
}

/** A macrotask turn (setImmediate in Node, a zero timeout elsewhere): readers and new requests run. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}
