import { describe, expect, it } from "vitest";
import { releasing } from "./release.ts";

async function* counting(n: number, fail = false) {
  for (let i = 0; i < n; i++) yield i;
  if (fail) throw new Error("boom");
}

describe("releasing", () => {
  it("releases once when the stream ends", async () => {
    let calls = 0;
    const out: number[] = [];
    for await (const v of releasing(counting(3), () => calls++)) out.push(v);
    expect(out).toEqual([0, 1, 2]);
    expect(calls).toBe(1);
  });

  it("releases once when the stream fails", async () => {
    let calls = 0;
    await expect((async () => {
      for await (const _ of releasing(counting(2, true), () => calls++));
    })()).rejects.toThrow("boom");
    expect(calls).toBe(1);
  });

  it("releases when abandoned before its first event (a generator's finally would not run)", async () => {
    let calls = 0;
    const events = releasing(counting(5), () => calls++);
    await events.return(undefined);
    expect(calls).toBe(1);
    await events.return(undefined);
    expect(calls).toBe(1);
  });

  it("releases when abandoned part-way", async () => {
    let calls = 0;
    for await (const v of releasing(counting(5), () => calls++)) if (v === 1) break;
    expect(calls).toBe(1);
  });

  it("an aborted signal releases and stops the source without anyone reading again (its finally runs)", async () => {
    let calls = 0;
    let finalized = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finalized = true;
      }
    }
    const ctl = new AbortController();
    const events = releasing(source(), () => calls++, { signal: ctl.signal });
    await events.next(); // the reader takes one event, then disappears
    ctl.abort();
    await new Promise((r) => setTimeout(r, 0));
    expect([calls, finalized]).toEqual([1, true]);
  });

  it("an abort during a step releases at once and stops the source when the step ends", async () => {
    let calls = 0;
    let finishStep!: () => void;
    let finalized = false;
    async function* source() {
      try {
        await new Promise<void>((r) => (finishStep = r));
        yield 1;
        yield 2;
      } finally {
        finalized = true;
      }
    }
    const ctl = new AbortController();
    const events = releasing(source(), () => calls++, { signal: ctl.signal });
    const first = events.next();
    await new Promise((r) => setTimeout(r, 0));
    ctl.abort();
    expect(calls).toBe(1);
    finishStep();
    await first;
    await new Promise((r) => setTimeout(r, 0));
    expect(finalized).toBe(true);
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it("an already aborted signal releases before the first read", async () => {
    let calls = 0;
    releasing(counting(3), () => calls++, { signal: AbortSignal.abort() });
    expect(calls).toBe(1);
  });

  it("reports busy while a read is in progress and idle between reads", async () => {
    const seen: boolean[] = [];
    for await (const _ of releasing(counting(2), undefined, { activity: (busy) => seen.push(busy) }));
    expect(seen).toEqual([true, false, true, false, true, false]);
  });
});
