import { describe, expect, it } from "vitest";
import { parseRange, sliceStream } from "./http-read.ts";

describe("parseRange", () => {
  it("reads a closed, an open-ended and a suffix range, clamping the end to the body", () => {
    expect(parseRange("bytes=0-99", 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange("bytes=900-", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=-100", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=990-5000", 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange("bytes=-5000", 1000)).toEqual({ start: 0, end: 999 });
  });

  it("answers in full (undefined) for no header, several ranges or other units; unsatisfiable past the end", () => {
    for (const h of [undefined, "", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=a-b"]) expect(parseRange(h, 1000), h).toBeUndefined();
    expect(parseRange("bytes=1000-", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=50-10", 1000)).toBe("unsatisfiable");
  });
});

describe("sliceStream", () => {
  it("keeps exactly bytes [start, end] of a stream, whatever its chunking", async () => {
    const whole = Uint8Array.from({ length: 100 }, (_, i) => i);
    for (const chunk of [1, 7, 33, 100]) {
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let at = 0; at < whole.length; at += chunk) ctl.enqueue(whole.slice(at, at + chunk));
          ctl.close();
        },
      });
      const got = new Uint8Array(await new Response(sliceStream(body, { start: 10, end: 57 })).arrayBuffer());
      expect(got, `chunks of ${chunk}`).toEqual(whole.subarray(10, 58));
    }
  });
});
