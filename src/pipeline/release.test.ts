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
});
