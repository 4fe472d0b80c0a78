/**
 * Generation memory of a host (the Worker inside workerd, the Node host over HTTP): every chat
 * request is admitted against the isolate's or process's budget, waits in the queue when it does
 * not fit, and gets OpenAI's 429 when the queue is full, changing nothing.
 */
import { describe, expect, it } from "vitest";
import manifest from "../../models/demo/manifest.json";
import { Admission } from "../../src/pipeline/admission.ts";
import { requestBytes } from "../../src/pipeline/request-memory.ts";
import type { Architecture } from "../../src/runtime/manifest.ts";
import type { TestHost } from "./support.ts";

const ARCH = manifest.architecture as unknown as Architecture;
export type Health = { memory: { in_flight_sequence_bytes: number }; admission: { budget_bytes: number; in_use_bytes: number; running: number; queued: number } };

/** The host's app with its own admission budget; chat and /healthz through it. */
export async function appWith(host: TestHost, admission: Admission) {
  const app = await host.withDeps({ admission });
  const chat = (body: object) => app.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  const health = async () => (await (await app.fetch(new Request("http://lora-edge/healthz"))).json()) as Health;
  return { chat, health };
}

export function admissionSuite(host: TestHost) {
  describe(`admission control (${host.kind})`, () => {
    it("/healthz reports the budget, what is in use and what waits", async () => {
      const { health } = await appWith(host, new Admission({ budgetBytes: 5 << 20, maxQueue: 3, queueTimeoutMs: 1000, idleMs: 10_000 }));
      expect((await health()).admission).toEqual({ budget_bytes: 5 << 20, in_use_bytes: 0, running: 0, queued: 0, max_queue: 3, totals: { admitted: 0, waited: 0, refused: 0 } });
    });

    it("a request that does not fit waits for the one before it, then is answered in full", async () => {
      const prompt = [{ role: "user", content: "hi" }];
      // room for one 64-token request at a time
      const one = requestBytes(ARCH, { promptTokens: 40, maxTokens: 64 });
      const admission = new Admission({ budgetBytes: one + 1000, maxQueue: 4, queueTimeoutMs: 60_000, idleMs: 60_000 });
      const { chat, health } = await appWith(host, admission);
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
      const { chat, health } = await appWith(host, admission);
      const hold = await admission.admit(8 << 20); // the isolate is full
      const res = await chat({ model: "base", messages: [{ role: "user", content: "hi" }], max_tokens: 4 });
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("4");
      expect(await res.json()).toEqual({ error: { message: expect.stringMatching(/rate limit/i), type: "requests", param: null, code: "rate_limit_exceeded" } });
      hold.release();
      expect((await health()).admission).toMatchObject({ in_use_bytes: 0, running: 0, queued: 0 });
    });
  });
}
