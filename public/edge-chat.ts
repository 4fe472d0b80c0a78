/**
 * "Answer on the edge": the Worker's OpenAI chat API with `stream: true`, read as server-sent
 * events from `fetch`. The routing details come from the response headers (`x-lora-*`,
 * `x-router-confidence`, `Server-Timing`), the token count from the final usage chunk.
 */
import { parseServerTiming, type AnswerInfo, type PlaygroundRequest } from "./answer.ts";

/**
 * Stream one answer; `onText` gets each piece as it arrives.
 *
 * @example const info = await edgeChat(req, (t) => (out.textContent += t));
 */
export async function edgeChat(req: PlaygroundRequest, onText: (text: string) => void, signal?: AbortSignal): Promise<AnswerInfo> {
  const body = {
    model: req.adapters ? "auto" : req.model,
    ...(req.adapters ? { adapters: req.adapters } : {}),
    messages: req.messages,
    max_tokens: req.maxTokens,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    stream: true,
    stream_options: { include_usage: true },
  };
  const t0 = performance.now();
  const res = await fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  if (!res.ok || !res.body) throw new Error(await errorMessage(res));
  let first: number | undefined;
  let last = t0;
  let completionTokens = 0;
  for await (const data of serverSentEvents(res.body)) {
    if (data === "[DONE]") break;
    const chunk = JSON.parse(data) as { error?: { message: string }; choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } };
    if (chunk.error) throw new Error(chunk.error.message);
    const text = chunk.choices?.[0]?.delta?.content;
    if (text) {
      first ??= performance.now();
      last = performance.now();
      onText(text);
    }
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  const h = res.headers;
  const seconds = first === undefined ? 0 : (last - first) / 1000;
  return {
    where: "edge",
    domain: h.get("x-lora-domain") ?? "none",
    confidence: h.get("x-router-confidence") ?? "n/a",
    adapter: h.get("x-lora-adapter") ?? "none",
    reason: h.get("x-lora-route-reason") ?? "?",
    timing: [...parseServerTiming(h.get("server-timing")), ...(first === undefined ? [] : [{ name: "first-token", ms: first - t0 }])],
    completionTokens,
    tokensPerSecond: seconds > 0 ? (completionTokens - 1) / seconds : 0,
  };
}

/** The `data:` payloads of an event stream, one per event. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data) yield data;
    }
  }
}

/** An OpenAI-shaped error body's message, or the status line. */
export async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string; code?: string } };
    if (body.error?.message) return `${res.status} ${body.error.code ?? ""}: ${body.error.message}`;
  } catch {
    // not JSON: the status says enough
  }
  return `${res.status} ${res.statusText}`;
}
