import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Admission, type AdmissionOptions } from "./admission.ts";
import { LoraEdgeError } from "../errors.ts";

const make = (o: Partial<AdmissionOptions> = {}) => new Admission({ budgetBytes: 100, maxQueue: 4, queueTimeoutMs: 1000, idleMs: 5000, ...o });
/** Settled state of a promise after pending microtasks ran. */
async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  let s: "pending" | "fulfilled" | "rejected" = "pending";
  p.then(() => (s = "fulfilled"), () => (s = "rejected"));
  await vi.advanceTimersByTimeAsync(0);
  return s;
}

describe("Admission", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("admits at once while requests fit the budget, and counts what they hold", async () => {
    const a = make();
    const t1 = await a.admit(60);
    const t2 = await a.admit(40);
    expect(a.stats()).toMatchObject({ budgetBytes: 100, inUseBytes: 100, running: 2, queued: 0 });
    t1.release();
    t2.release();
    expect(a.stats()).toMatchObject({ inUseBytes: 0, running: 0 });
  });

  it("serves waiters in arrival order: a small request does not overtake a large one queued before it", async () => {
    const a = make();
    const first = await a.admit(70);
    const order: string[] = [];
    const large = a.admit(60).then((t) => (order.push("large"), t));
    const small = a.admit(10).then((t) => (order.push("small"), t)); // would fit now, but waits its turn
    expect(await state(small)).toBe("pending");
    expect(a.stats().queued).toBe(2);
    first.release();
    await Promise.all([large, small]);
    expect(order).toEqual(["large", "small"]);
    expect(a.stats()).toMatchObject({ inUseBytes: 70, queued: 0, totals: { admitted: 3, waited: 2, refused: 0 } });
  });

  it("refuses with OpenAI's 429 rate_limit_exceeded and Retry-After when the wait passes its deadline", async () => {
    const a = make({ queueTimeoutMs: 2500 });
    await a.admit(100);
    const waiting = a.admit(1);
    const settled = waiting.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2499);
    expect(await state(waiting)).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    const err = (await settled) as LoraEdgeError;
    expect(err).toBeInstanceOf(LoraEdgeError);
    expect(err.toJSON().error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    expect([err.status, err.retryAfter]).toEqual([429, 3]);
    expect(a.stats()).toMatchObject({ queued: 0, totals: { admitted: 1, waited: 0, refused: 1 } });
  });

  it("refuses at once when the queue is full, without disturbing those waiting", async () => {
    const a = make({ maxQueue: 2 });
    const t = await a.admit(100);
    const w = [a.admit(1), a.admit(1)];
    await expect(a.admit(1)).rejects.toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    t.release();
    await Promise.all(w);
    expect(a.stats()).toMatchObject({ inUseBytes: 2, queued: 0 });
  });

  it("refuses a request larger than the whole budget with a 400 (waiting could never help)", async () => {
    await expect(make().admit(101)).rejects.toMatchObject({ status: 400, code: "request_too_large" });
  });

  it("a waiter whose client goes away leaves the queue and lets the next one in", async () => {
    const a = make();
    const t = await a.admit(50);
    const ctl = new AbortController();
    const big = a.admit(80, { signal: ctl.signal });
    const small = a.admit(40);
    expect(await state(small)).toBe("pending");
    ctl.abort(new Error("client gone"));
    await expect(big).rejects.toThrow("client gone");
    await small;
    expect(a.stats()).toMatchObject({ inUseBytes: 90, queued: 0 });
    t.release();
  });

  it("release is idempotent: bytes are returned once", async () => {
    const a = make();
    const t = await a.admit(30);
    const u = await a.admit(30);
    t.release();
    t.release();
    expect(a.stats().inUseBytes).toBe(30);
    u.release();
  });

  it("reclaims a ticket idle longer than idleMs (its owner is told, its bytes go to the queue), never a busy one", async () => {
    const a = make({ idleMs: 3000, queueTimeoutMs: 60_000 });
    let told = 0;
    const idle = await a.admit(60, { onIdle: () => told++ });
    const busy = await a.admit(40, { onIdle: () => told++ });
    busy.activity(true);
    const waiting = a.admit(50);
    await vi.advanceTimersByTimeAsync(2900);
    expect(await state(waiting)).toBe("pending");
    await vi.advanceTimersByTimeAsync(2000); // the queue's sweep finds the idle ticket
    await waiting;
    expect(told).toBe(1);
    expect(a.stats()).toMatchObject({ inUseBytes: 90, running: 2 });
    idle.release(); // the owner's own release afterwards changes nothing
    expect(a.stats().inUseBytes).toBe(90);
    busy.release();
  });

  it("an idle ticket is reclaimed when anyone looks (stats or a new request), even with nobody queued", async () => {
    const a = make({ idleMs: 1000 });
    let told = 0;
    const t = await a.admit(10, { onIdle: () => told++ });
    t.activity(true);
    t.activity(false);
    await vi.advanceTimersByTimeAsync(999);
    expect(a.stats()).toMatchObject({ inUseBytes: 10 });
    await vi.advanceTimersByTimeAsync(1);
    expect(a.stats()).toMatchObject({ inUseBytes: 0, running: 0 });
    expect(told).toBe(1);
  });

  it("a sweep timer dropped with the request that set it (workerd cancels a finished request's timers) is replaced", async () => {
    const a = make({ idleMs: 4000, queueTimeoutMs: 60_000 }); // sweeps every 2 s
    let told = 0;
    await a.admit(100, { onIdle: () => told++ });
    const first = a.admit(10);
    vi.clearAllTimers(); // the sweep (and this waiter's deadline) vanish, as when their request ends
    await vi.advanceTimersByTimeAsync(3500); // the ticket is not idle yet: a new arrival cannot reclaim it
    const second = a.admit(10); // … but it finds the sweep overdue and schedules a new one
    await vi.advanceTimersByTimeAsync(2500);
    expect([await state(first), await state(second)]).toEqual(["fulfilled", "fulfilled"]);
    expect(told).toBe(1);
  });
});
