/**
 * What a client relies on from the HTTP layer of a host (the Worker inside workerd, the Node host
 * over real sockets): size refusals are 413s naming the
 * limit, answered from the headers before the body is read (also for a body that never ends);
 * chat needs JSON; reserved domain names are always refused; CORS for the public API and none for
 * the admin API by default; parameters lora-edge cannot honour are refused by name; and adapters
 * whose numbers overflow are refused at upload, at composition, or end generation with an error —
 * never an empty success. Every refusal is in OpenAI's error shape and changes nothing in storage.
 */
import { describe, expect, it } from "vitest";
import { adminClient, errorOf, peftFiles, type TestHost } from "./support.ts";

export function httpContractSuite(worker: TestHost) {
  const { call, push } = adminClient(worker);
  const storageSnapshot = () => worker.storageSnapshot();

  const chat = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
    worker.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }));
  const hi = [{ role: "user", content: "hi" }];

  /** A body that sends `first` bytes and then waits (the client is still uploading) until `end()`. */
  function endless(first = 1024): { body: ReadableStream<Uint8Array>; end(): void } {
    let sent = false;
    let finish!: () => void;
    const ended = new Promise<void>((r) => (finish = r));
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (!sent) {
          sent = true;
          ctl.enqueue(new Uint8Array(first).fill(32));
          return;
        }
        await ended;
        ctl.close();
      },
    });
    return { body, end: finish };
  }

  /** Resolves with the response, or rejects if none came within `ms` (it waited for the body). */
  async function answeredWithin<T>(p: Promise<T>, ms = 5000): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: the body was awaited`)), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  describe(`sizes: 413 naming the limit, never a retry (${worker.kind})`, () => {
    it("PUT /v1/domains with ~4 MB of examples → 413 body_too_large naming MAX_DOMAIN_BODY_BYTES, storage unchanged", async () => {
      await push("sizer", peftFiles({ seed: 3 }));
      const before = await storageSnapshot();
      const examples = Array.from({ length: 4000 }, (_, i) => `example ${i} `.padEnd(1000, "x"));
      const res = await call("PUT", "/v1/domains/sizes", { adapter: "sizer", examples });
      expect(res.status).toBe(413);
      expect(res.headers.get("retry-after")).toBeNull();
      const err = await errorOf(res);
      expect(err.code).toBe("body_too_large");
      expect(err.message).toMatch(/MAX_DOMAIN_BODY_BYTES\) is 1048576/);
      expect(await storageSnapshot()).toEqual(before);
    });

    it("a chat body over MAX_CHAT_BODY_BYTES (8 MiB of whitespace) → 413", async () => {
      const res = await chat(" ".repeat(8 << 20) + JSON.stringify({ model: "base", messages: hi }));
      expect(res.status).toBe(413);
      expect((await errorOf(res)).message).toMatch(/MAX_CHAT_BODY_BYTES/);
    });

    it.each([
      ["chat", "POST", "/v1/chat/completions", { "content-type": "application/json" }, 413],
      ["a domain", "PUT", "/v1/domains/early", { "content-type": "application/json" }, 413],
      ["an adapter upload", "PUT", "/v1/adapters/early", { "content-type": "multipart/form-data; boundary=x" }, 413],
    ])("a declared Content-Length over the limit on %s is answered before the body is read", async (_, method, path, headers, status) => {
      const upload = endless();
      const res = await answeredWithin(call(method, path, upload.body, { headers: { ...headers, "content-length": String(512 << 20) } })).finally(upload.end);
      expect(res.status).toBe(status);
    });

    it.each([
      ["PUT", "/v1/adapters/early", "multipart/form-data; boundary=x"],
      ["PUT", "/v1/domains/early", "application/json"],
    ])("a wrong token on %s %s is a 401 answered before the body is read", async (method, path, type) => {
      const upload = endless();
      const res = await answeredWithin(call(method, path, upload.body, { token: "wrong", headers: { "content-type": type } })).finally(upload.end);
      expect(res.status).toBe(401);
    });
  });

  describe(`chat takes JSON only (${worker.kind})`, () => {
    it.each([["text/plain"], ["application/x-www-form-urlencoded"], [undefined]])("Content-Type %s → 415 unsupported_media_type", async (type) => {
      const res = await chat(JSON.stringify({ model: "base", messages: hi }), type ? { "content-type": type } : {});
      expect(res.status).toBe(415);
      expect((await errorOf(res)).code).toBe("unsupported_media_type");
    });

    it("application/json with a charset is JSON", async () => {
      const res = await chat({ model: "base", messages: hi, max_tokens: 2 }, { "content-type": "application/json; charset=utf-8" });
      expect(res.status).toBe(200);
    });
  });

  describe(`reserved domain names (${worker.kind})`, () => {
    it.each(["none", "auto", "base"])("PUT /v1/domains/%s is refused with or without examples, storage unchanged", async (name) => {
      await push("reserver", peftFiles({ seed: 4 }));
      const before = await storageSnapshot();
      for (const body of [{ adapter: "reserver" }, { adapter: "reserver", examples: Array.from({ length: 20 }, (_, i) => `text ${i}`) }]) {
        const res = await call("PUT", `/v1/domains/${name}`, body);
        expect([res.status, (await errorOf(res)).code]).toEqual([400, "reserved_domain"]);
      }
      expect(await storageSnapshot()).toEqual(before);
    });
  });

  describe(`CORS (${worker.kind})`, () => {
    it("the public API answers a browser preflight and carries Access-Control-Allow-Origin (default *)", async () => {
      const pre = await worker.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" } }));
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe("*");
      expect(pre.headers.get("access-control-allow-methods")).toMatch(/POST/);
      const res = await worker.fetch(new Request("http://lora-edge/v1/models", { headers: { origin: "https://app.example" } }));
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
    });

    it("the admin API sends no CORS headers unless ADMIN_CORS_ORIGINS allows the origin", async () => {
      const res = await call("GET", "/v1/adapters", undefined, { headers: { origin: "https://app.example" } });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const app = await worker.withDeps({ limits: { ADMIN_CORS_ORIGINS: "https://admin.example", CORS_ORIGINS: "https://app.example" } });
      const allowed = await app.fetch(new Request("http://lora-edge/v1/adapters", { method: "OPTIONS", headers: { origin: "https://admin.example", "access-control-request-method": "PUT" } }));
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://admin.example");
      const other = await app.fetch(new Request("http://lora-edge/v1/models", { headers: { origin: "https://evil.example" } }));
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  describe(`parameters lora-edge cannot honour are refused by name (${worker.kind})`, () => {
    it.each([
      ["n", 2],
      ["tools", [{ type: "function", function: { name: "f", parameters: {} } }]],
      ["tool_choice", "required"],
      ["response_format", { type: "json_object" }],
      ["logprobs", true],
      ["top_logprobs", 3],
      ["logit_bias", { "1": 5 }],
      ["presence_penalty", 0.5],
      ["frequency_penalty", 1],
    ])("%s = %j → 400 unsupported_parameter", async (param, value) => {
      const res = await chat({ model: "base", messages: hi, [param]: value });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "unsupported_parameter", param });
    });

    it("what can be honoured is: n 1, response_format text, logprobs false, tools [], penalties 0", async () => {
      const res = await chat({ model: "base", messages: hi, max_tokens: 2, n: 1, response_format: { type: "text" }, logprobs: false, tools: [], tool_choice: "none", presence_penalty: 0, frequency_penalty: 0 });
      expect(res.status).toBe(200);
    });
  });

  describe(`patterns in adapter configs (${worker.kind})`, () => {
    it.each([
      [{ layers_to_transform: [0], layers_pattern: "(" }, "layers_pattern"],
      [{ layers_to_transform: [0], layers_pattern: ["["] }, "layers_pattern"],
      [{ rank_pattern: { "q_proj(": 2 } }, "rank_pattern"],
    ])("an invalid pattern %j is a 400 invalid_adapter_config naming %s (was a 500)", async (config, field) => {
      const res = await push("patterned", peftFiles({ seed: 12, config: config as never }));
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "invalid_adapter_config", param: `adapter_config.json.${field}` });
    });

    it("a catastrophic target_modules regex is answered at once and the Worker stays responsive", async () => {
      const t0 = Date.now();
      const res = await push("patterned", peftFiles({ seed: 13, config: { target_modules: ".*".repeat(9) + "x" } }));
      expect(res.status).toBe(400); // it targets no module of the base
      expect((await worker.fetch(new Request("http://lora-edge/healthz"))).status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(10_000);
    });
  });

  describe(`overflow is refused or ends loudly, never answered with silence (${worker.kind})`, () => {
    it.each([
      ["lora_alpha 1e308", { config: { lora_alpha: 1e308 } }],
      ["alpha_pattern 1e300", { config: { alpha_pattern: { v_proj: 1e300 } } }],
    ])("an upload whose scaled factors overflow (%s) → 400 non_finite_weight, storage unchanged", async (_, o) => {
      const before = await storageSnapshot();
      const res = await push("overflow", peftFiles({ seed: 9, ...o }));
      expect([res.status, (await errorOf(res)).code]).toEqual([400, "non_finite_weight"]);
      expect(await storageSnapshot()).toEqual(before);
    });

    it("a composition weight of 1e308 → 400 naming the bound", async () => {
      await push("mixer", peftFiles({ seed: 10 }));
      const res = await chat({ model: "base", messages: hi, adapters: [{ name: "mixer", weight: 1e308 }] });
      expect(res.status).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe("invalid_adapter_weight");
      expect(err.message).toMatch(/between -10 and 10/);
    });

    it("an adapter whose forward pass overflows ends with non_finite_logits: a 500 as JSON, an in-band error without [DONE] as SSE", async () => {
      // finite factors (they upload), but x·A·B is far beyond float32's 3.4e38
      expect((await push("blowup", peftFiles({ seed: 11, dtype: "F32", std: 1e25, targets: ["o_proj", "down_proj"] }))).status).toBe(201);
      const res = await chat({ model: "blowup", messages: hi, max_tokens: 4 });
      expect(res.status).toBe(500);
      expect(await errorOf(res)).toMatchObject({ code: "non_finite_logits", type: "server_error" });
      const sse = await (await chat({ model: "blowup", messages: hi, max_tokens: 4, stream: true })).text();
      const events = sse.split("\n\n").filter(Boolean);
      expect(events).not.toContain("data: [DONE]");
      expect(JSON.parse(events.at(-1)!.replace(/^data: /, ""))).toMatchObject({ error: { code: "non_finite_logits" } });
    });
  });
}
