/**
 * The admission suite (test/http/admission.suite.ts) against the Worker inside workerd, and what only
 * an in-process stream shows: a stream its reader abandoned without cancelling is stopped and freed
 * by the idle watchdog. (Over a socket, as on the Node host, the kernel's buffers take what a silent
 * reader does not read; a client that goes away is the adapter-chat suite's disconnect test.)
 */
import { describe, expect, it } from "vitest";
import { Admission } from "../../src/pipeline/admission.ts";
import { admissionSuite, appWith } from "../http/admission.suite.ts";
import { workerHost } from "./host.ts";

admissionSuite(workerHost);

describe("admission control in workerd", () => {
  it("a stream its reader stops reading (no cancel, no disconnect) is stopped and freed after the idle limit", async () => {
    const { chat, health } = await appWith(workerHost, new Admission({ budgetBytes: 16 << 20, maxQueue: 4, queueTimeoutMs: 1000, idleMs: 300 }));
    const res = await chat({ model: "base", messages: [{ role: "user", content: "Tell me a long story" }], max_tokens: 512, stream: true, seed: 3 });
    const reader = res.body!.getReader();
    await reader.read(); // one chunk, then the reader goes silent
    expect((await health()).admission.running).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    const h = await health();
    expect(h.admission).toMatchObject({ in_use_bytes: 0, running: 0 });
    await new Promise((r) => setTimeout(r, 50)); // the generator's finally runs once its return() is scheduled
    expect((await health()).memory.in_flight_sequence_bytes).toBe(0);
  });
});
