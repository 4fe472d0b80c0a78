/**
 * Generation memory inside workerd: every chat request is admitted against the isolate's budget,
 * waits in the queue when it does not fit, gets OpenAI's 429 when the queue is full, and a stream
 * its reader abandoned without cancelling is stopped and freed by the idle watchdog.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { workerDeps } from "../../src/index.ts";
import { Admission } from "../../src/pipeline/admission.ts";
import { requestBytes } from "../../src/pipeline/request-memory.ts";
import manifest from "../../models/demo/manifest.json";
import type { Architecture } from "../../src/runtime/manifest.ts";

const ARCH = manifest.architecture as unknown as Architecture;
type Health = { memory: { in_flight_sequence_bytes: number }; admission: { budget_bytes: number; in_use_bytes: number; running: number; queued: number } };

function appWith(admission: Admission) {
  const app = createApp(workerDeps(env as unknown as Env, { admission }));
  const chat = (body: object) => app.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  const health = async () => (await (await app.fetch(new Request("http://lora-edge/healthz"))).json()) as Health;
  return { chat, health };
}

describe("admission control in workerd", () => {
  it("/healthz reports the budget, what is in use and what waits", async () => {
    const { health } = appWith(new Admission({ budgetBytes: 5 << 20, maxQueue: 3, queueTimeoutMs: 1000, idleMs: 10_000 }));
    expect((await health()).admission).toEqual({ budget_bytes: 5 << 20, in_use_bytes: 0, running: 0, queued: 0, max_queue: 3, totals: { admitted: 0, waited: 0, refused: 0 } });
  });

  it("a request that does not fit waits for the one before it, then is answered in full", async () => {
    const prompt = [{ role: "user", content: "hi" }];
    // room for one 64-token request at a time
    const one = requestBytes(ARCH, { promptTokens: 40, maxTokens: 64 });
    const admission = new Admission({ budgetBytes: one + 1000, maxQueue: 4, queueTimeoutMs: 60_000, idleMs: 60_000 });
    const { chat, health } = appWith(admission);
    let maxQueued = 0;
    const both = Promise.all([chat({ model: "base", messages: prompt, max_tokens: 64, seed: 1 }), chat({ model: "base", messages: prompt, max_tokens: 64, seed: 1 })]);
    let settled = false;
    void both.finally(() => (settled = true));
    while (!settled) {
      maxQueued = Math.max(maxQueued, admission.stats().queued);
      await new Promise((r) => setTimeout(r, 1));
    }
    const [a, b] = await both;
    expect(maxQueued).toBe(1);
    expect(admission.stats().totals).toEqual({ admitted: 2, waited: 1, refused: 0 });
    expect([a.status, b.status]).toEqual([200, 200]);
    const [ja, jb] = (await Promise.all([a.json(), b.json()])) as { choices: { message: { content: string } }[] }[];
    expect(jb!.choices[0]!.message.content).toBe(ja!.choices[0]!.message.content);
    expect(b.headers.get("server-timing")).toMatch(/queue;dur=/);
    expect((await health()).admission).toMatchObject({ in_use_bytes: 0, running: 0, queued: 0 });
  });

  it("a full queue answers 429 rate_limit_exceeded with Retry-After in OpenAI's error shape, and changes nothing", async () => {
    const admission = new Admission({ budgetBytes: 8 << 20, maxQueue: 0, queueTimeoutMs: 4000, idleMs: 60_000 });
    const { chat, health } = appWith(admission);
    const hold = await admission.admit(8 << 20); // the isolate is full
    const res = await chat({ model: "base", messages: [{ role: "user", content: "hi" }], max_tokens: 4 });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("4");
    expect(await res.json()).toEqual({ error: { message: expect.stringMatching(/rate limit/i), type: "requests", param: null, code: "rate_limit_exceeded" } });
    hold.release();
    expect((await health()).admission).toMatchObject({ in_use_bytes: 0, running: 0, queued: 0 });
  });

  it("a stream its reader stops reading (no cancel, no disconnect) is stopped and freed after the idle limit", async () => {
    const { chat, health } = appWith(new Admission({ budgetBytes: 16 << 20, maxQueue: 4, queueTimeoutMs: 1000, idleMs: 300 }));
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
