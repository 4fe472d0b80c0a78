/**
 * Admission control for one isolate (or one Node process): requests declare the memory they will
 * hold while generating (KV cache, adapter feeds) before they start; they run while the sum fits
 * the budget, wait in a bounded FIFO queue with a deadline when it does not, and are refused with
 * OpenAI's 429 (`rate_limit_exceeded`, `Retry-After`) when the queue is full or the wait runs out.
 * A ticket nobody has used for `idleMs` is reclaimed (its owner is told to stop), so a stream whose
 * client vanished without the host saying so cannot hold memory forever. Knows nothing of HTTP,
 * engines or hosts: each host builds one with its own budget.
 *
 * @example
 * const admission = new Admission({ budgetBytes: 16 << 20, maxQueue: 32, queueTimeoutMs: 10_000, idleMs: 30_000 });
 * const ticket = await admission.admit(kvBytes + feedBytes, { signal, onIdle: () => events.return(undefined) });
 * try { ... ticket.activity(true) ... ticket.activity(false) ... } finally { ticket.release(); }
 */
import { LoraEdgeError } from "../errors.ts";
import type { Limits } from "./limits.ts";

export type AdmissionOptions = {
  /** Bytes admitted requests may hold at once. */
  budgetBytes: number;
  /** Requests that may wait for room; one more is refused at once. */
  maxQueue: number;
  /** Longest wait in the queue before a 429. */
  queueTimeoutMs: number;
  /** A ticket idle (not in use) this long is reclaimed through its `onIdle`. */
  idleMs: number;
};

/** A request's share of the budget, held until `release()` (idempotent). */
export type Ticket = {
  readonly bytes: number;
  /** Mark the holder busy (working, e.g. producing a token) or idle (waiting to be asked for more). */
  activity(busy: boolean): void;
  release(): void;
};

export type AdmissionStats = {
  budgetBytes: number;
  inUseBytes: number;
  running: number;
  queued: number;
  maxQueue: number;
  /** Since start: requests admitted, of those how many waited first, and requests refused with a 429. */
  totals: { admitted: number; waited: number; refused: number };
};

type Waiter = { bytes: number; admit(): void };
type Held = { bytes: number; busy: boolean; idleSince: number; onIdle: (() => void) | undefined; release(): void };

export class Admission {
  readonly options: AdmissionOptions;
  private inUse = 0;
  private readonly queue: Waiter[] = [];
  private readonly held = new Set<Held>();
  private sweepTimer: ReturnType<typeof setTimeout> | undefined;
  private sweepDue = 0;
  private readonly totals = { admitted: 0, waited: 0, refused: 0 };

  constructor(options: AdmissionOptions) {
    this.options = options;
  }

  /**
   * Wait until `bytes` fit the budget (in arrival order) and take them. Rejects with a 429 when the
   * queue is full or the deadline passes, with a 400 when `bytes` exceed the whole budget, and with
   * the signal's reason when it aborts first.
   */
  admit(bytes: number, opts: { signal?: AbortSignal; onIdle?: () => void } = {}): Promise<Ticket> {
    const { budgetBytes, maxQueue, queueTimeoutMs } = this.options;
    this.reclaimIdle();
    if (bytes > budgetBytes) {
      return Promise.reject(new LoraEdgeError(400, "request_too_large", `this request needs ${bytes} bytes of generation memory; the budget is ${budgetBytes}: lower max_tokens, the prompt or the adapters' rank`, { param: "max_tokens" }));
    }
    opts.signal?.throwIfAborted();
    if (this.queue.length === 0 && this.inUse + bytes <= budgetBytes) return Promise.resolve(this.take(bytes, opts.onIdle));
    if (this.queue.length >= maxQueue) return Promise.reject(this.busy(`the server is at capacity (${this.queue.length} requests waiting)`));
    return new Promise<Ticket>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", aborted);
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      };
      const waiter: Waiter = {
        bytes,
        admit: () => {
          leave();
          this.totals.waited++;
          resolve(this.take(bytes, opts.onIdle));
        },
      };
      const giveUp = (reason: unknown) => {
        leave();
        this.drain(); // a large request leaving the head may let smaller ones in
        reject(reason);
      };
      const aborted = () => giveUp(opts.signal!.reason);
      const timer = setTimeout(() => giveUp(this.busy(`no room within ${queueTimeoutMs} ms`)), queueTimeoutMs);
      opts.signal?.addEventListener("abort", aborted, { once: true });
      this.queue.push(waiter);
      this.scheduleSweep();
    });
  }

  /** What `/healthz` shows; also reclaims idle tickets (every look is a chance to). */
  stats(): AdmissionStats {
    this.reclaimIdle();
    return { budgetBytes: this.options.budgetBytes, inUseBytes: this.inUse, running: this.held.size, queued: this.queue.length, maxQueue: this.options.maxQueue, totals: { ...this.totals } };
  }

  /** Reclaim every ticket idle longer than `idleMs` (its owner's `onIdle`, then its bytes). */
  reclaimIdle(now = Date.now()): void {
    for (const h of [...this.held]) {
      if (h.busy || now - h.idleSince < this.options.idleMs) continue;
      try {
        h.onIdle?.();
      } finally {
        h.release();
      }
    }
  }

  private take(bytes: number, onIdle: (() => void) | undefined): Ticket {
    this.inUse += bytes;
    this.totals.admitted++;
    let done = false;
    const h: Held = {
      bytes,
      busy: false,
      idleSince: Date.now(),
      onIdle,
      release: () => {
        if (done) return;
        done = true;
        this.held.delete(h);
        this.inUse -= bytes;
        this.drain();
      },
    };
    this.held.add(h);
    return {
      bytes,
      activity: (busy) => {
        h.busy = busy;
        if (!busy) h.idleSince = Date.now();
      },
      release: h.release,
    };
  }

  /** Admit waiters from the head while they fit: strict arrival order, no overtaking. */
  private drain(): void {
    while (this.queue.length && this.inUse + this.queue[0]!.bytes <= this.options.budgetBytes) this.queue[0]!.admit(); // admit() takes it off the queue
  }

  /**
   * While requests wait, look for idle tickets every half of the shorter limit. A timer belongs to
   * the request that set it, and workerd drops it when that request ends: one overdue by a second
   * is taken as dropped and replaced.
   */
  private scheduleSweep(): void {
    if (this.queue.length === 0) return;
    if (this.sweepTimer !== undefined && Date.now() < this.sweepDue + 1000) return;
    const every = Math.max(10, Math.min(this.options.idleMs, this.options.queueTimeoutMs) / 2);
    this.sweepDue = Date.now() + every;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      this.reclaimIdle();
      this.scheduleSweep();
    }, every);
  }

  private busy(why: string): LoraEdgeError {
    this.totals.refused++;
    const retryAfter = Math.max(1, Math.ceil(this.options.queueTimeoutMs / 1000));
    return new LoraEdgeError(429, "rate_limit_exceeded", `Rate limit reached: ${why}; retry after ${retryAfter} s`, { type: "requests", retryAfter });
  }
}

/** The controller a host's limits describe (`MEMORY_BUDGET_BYTES`, `ADMISSION_QUEUE`, …). @example admissionFromLimits(readLimits(env)) */
export function admissionFromLimits(limits: Limits): Admission {
  return new Admission({ budgetBytes: limits.MEMORY_BUDGET_BYTES, maxQueue: limits.ADMISSION_QUEUE, queueTimeoutMs: limits.ADMISSION_TIMEOUT_MS, idleMs: limits.STREAM_IDLE_TIMEOUT_MS });
}
