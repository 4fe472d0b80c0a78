/**
 * The chat endpoint of a host (the Worker inside workerd, the Node host over HTTP): the demo model
 * answers chat completions, JSON and SSE, and refuses bad requests in OpenAI's error shape.
 */
import { describe, expect, it } from "vitest";
import type { TestHost } from "./support.ts";

export function chatSuite(worker: TestHost) {
  const post = (path: string, body: unknown) =>
    worker.fetch(new Request(`http://lora-edge${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));

  describe(`chat endpoint (${worker.kind})`, () => {
    it("GET /healthz reports the served model and the engine backend", async () => {
      const res = await worker.fetch(new Request("http://lora-edge/healthz"));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ok", model: "demo", quantization: "int8", engine: worker.kind === "node" ? "node" : "wasm" });
    });

    it("answers a non-streaming chat completion in OpenAI's shape", async () => {
      const res = await post("/v1/chat/completions", { model: "base", messages: [{ role: "user", content: "Where is my order?" }], max_tokens: 8, seed: 3 });
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.object).toBe("chat.completion");
      expect(body.usage.completion_tokens).toBeGreaterThan(0);
      expect(["stop", "length"]).toContain(body.choices[0].finish_reason);
      expect(res.headers.get("server-timing")).toMatch(/prefill;dur=/);
    });
  });

  describe(`chat endpoint (${worker.kind}): streaming and errors`, () => {
    it("streams SSE chunks ending in [DONE], with usage when asked", async () => {
      const res = await post("/v1/chat/completions", { model: "base", messages: [{ role: "user", content: "hi" }], max_tokens: 6, seed: 1, stream: true, stream_options: { include_usage: true } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const events = (await res.text()).split("\n\n").filter(Boolean);
      expect(events.at(-1)).toBe("data: [DONE]");
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
      expect(chunks[0].choices[0].delta.role).toBe("assistant");
      expect(chunks.at(-2).choices[0].finish_reason).toBe("length");
      expect(chunks.at(-1).usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: 6, total_tokens: expect.any(Number) });
    });

    it("streamed text equals the non-streamed text for the same seed", async () => {
      const body = { model: "base", messages: [{ role: "user", content: "Tell me about plans" }], max_tokens: 10, seed: 42, temperature: 0.7 };
      const json = (await (await post("/v1/chat/completions", body)).json()) as any;
      const sse = await (await post("/v1/chat/completions", { ...body, stream: true })).text();
      const text = sse.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? "").join("");
      expect(text).toBe(json.choices[0].message.content);
    });

    it("GET /v1/models lists the base model", async () => {
      const res = await worker.fetch(new Request("http://lora-edge/v1/models"));
      expect(await res.json()).toMatchObject({ object: "list", data: [{ id: "demo", object: "model", parent: null }] });
    });

    it.each([
      ["malformed JSON", "{not json", 400, "invalid_json"],
      ["n > 1", { model: "base", messages: [{ role: "user", content: "x" }], n: 2 }, 400, "unsupported_parameter"],
      ["no messages", { model: "base", messages: [] }, 400, "invalid_request"],
      ["temperature out of range", { model: "base", messages: [{ role: "user", content: "x" }], temperature: 3 }, 400, "invalid_request"],
      ["unknown model", { model: "no-such-adapter", messages: [{ role: "user", content: "x" }] }, 404, "model_not_found"],
      ["max_tokens above the limit", { model: "base", messages: [{ role: "user", content: "x" }], max_tokens: 100_000 }, 400, "invalid_value"],
      ["a prompt longer than the context", { model: "base", messages: [{ role: "user", content: "refund ".repeat(3000) }] }, 400, "context_length_exceeded"],
    ])("%s → %d %s in OpenAI's error shape", async (_, body, status, code) => {
      const res = await worker.fetch(
        new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }),
      );
      expect(res.status).toBe(status);
      const err = (await res.json()) as any;
      expect(err.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
      expect(err.error).toHaveProperty("param");
    });
  });
}
