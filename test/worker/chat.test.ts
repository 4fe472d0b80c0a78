/**
 * The Worker inside workerd: the embedded model answers chat completions, JSON and SSE.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const worker = (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default;
const post = (path: string, body: unknown) =>
  worker.fetch(new Request(`http://lora-edge${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));

describe("chat endpoint in workerd", () => {
  it("GET /healthz reports the embedded model", async () => {
    const res = await worker.fetch(new Request("http://lora-edge/healthz"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", model: "demo", quantization: "int8" });
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
