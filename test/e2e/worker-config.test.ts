/**
 * The Worker's own configuration, read in workerd: a `BATCHING` var that is neither "true", "false"
 * nor "auto" is the operator's mistake, and every route that needs the engine says so (500,
 * `invalid_configuration`, naming the var) instead of "internal error"; routes that do not need the
 * engine keep working, and a request stream never starts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundledWorker, type BundledWorker } from "../support/bundled-worker.ts";

let worker: BundledWorker;

beforeAll(async () => {
  worker = await startBundledWorker({ vars: { ADMIN_TOKEN: "e2e-token", BATCHING: "sometimes" } });
}, 300_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("a malformed BATCHING var", () => {
  const misconfigured = {
    error: { code: "invalid_configuration", type: "server_error", param: "BATCHING", message: expect.stringContaining('must be "true", "false" or "auto", not "sometimes"') },
  };

  it("answers /healthz and chat with a 500 that names the var, every time", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const health = await fetch(new URL("/healthz", worker.url));
      expect(health.status).toBe(500);
      expect(await health.json()).toEqual(misconfigured);
    }
    for (const stream of [false, true]) {
      const chat = await fetch(new URL("/v1/chat/completions", worker.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "base", stream, max_tokens: 4, messages: [{ role: "user", content: "Where is my order?" }] }),
      });
      expect(chat.status).toBe(500);
      expect(chat.headers.get("content-type")).toMatch(/application\/json/);
      expect(await chat.json()).toEqual(misconfigured);
    }
  });

  it("leaves the routes that do not run the model working", async () => {
    const route = await fetch(new URL("/v1/route", worker.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "my parcel never arrived" }) });
    expect(route.status).toBe(200);
    expect(await route.json()).toMatchObject({ domain: "support" });
  });
});
