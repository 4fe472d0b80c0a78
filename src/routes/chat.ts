/**
 * `POST /v1/chat/completions`: parse, hand the request to the pipeline, shape the answer as
 * OpenAI JSON or SSE (`data: {chunk}` … `data: [DONE]`). No model logic here.
 */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import type { GenerationEvent } from "../runtime/engine.ts";
import { assertHonoured, chatRequestSchema, messageText, type ChatRequest } from "./openai-schema.ts";
import { prepareChat, type PreparedChat } from "../pipeline/chat.ts";
import type { ChatInput } from "../pipeline/chat-input.ts";
import { readJsonBody } from "./json-body.ts";
import { publicCors } from "./cors.ts";

export const chatRoutes = new Hono<AppEnv>().use("/v1/chat/completions", publicCors).post("/v1/chat/completions", async (c) => {
  const body = await readJsonBody(c, { maxBytes: c.get("deps").limits.MAX_CHAT_BODY_BYTES, name: "MAX_CHAT_BODY_BYTES", code: "body_too_large" });
  assertHonoured(body);
  const request = chatRequestSchema.parse(body);
  // the request's signal aborts when the client goes away: generation stops and frees its memory
  const chat = await prepareChat(c.get("deps"), chatInput(request, c.req.raw.signal));
  const id = `chatcmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const headers = chat.headers();
  if (!request.stream) {
    let text = "";
    let done: Extract<GenerationEvent, { type: "done" }> | undefined;
    for await (const ev of chat.events) {
      if (ev.type === "done") done = ev;
      else text += ev.text;
    }
    return c.json(
      {
        id,
        object: "chat.completion",
        created,
        model: chat.modelLabel,
        system_fingerprint: chat.fingerprint,
        choices: [{ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: done!.finishReason }],
        usage: usage(done!),
      },
      200,
      { ...headers, "Server-Timing": chat.serverTiming(done!) },
    );
  }
  return new Response(sseStream(chat, id, created, request.stream_options?.include_usage ?? false), {
    headers: { ...headers, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "Server-Timing": chat.serverTiming() },
  });
});

/** OpenAI's request → the pipeline's input. */
function chatInput(r: ChatRequest, signal: AbortSignal): ChatInput {
  return {
    model: r.model,
    adapters: r.adapters,
    messages: r.messages.map((m) => ({ role: m.role, content: messageText(m) })),
    maxTokens: r.max_completion_tokens ?? r.max_tokens ?? undefined,
    temperature: r.temperature ?? undefined,
    topP: r.top_p ?? undefined,
    topK: r.top_k ?? undefined,
    seed: r.seed ?? undefined,
    stop: r.stop == null ? [] : typeof r.stop === "string" ? [r.stop] : r.stop,
    signal,
  };
}

function usage(done: Extract<GenerationEvent, { type: "done" }>) {
  return { prompt_tokens: done.promptTokens, completion_tokens: done.completionTokens, total_tokens: done.promptTokens + done.completionTokens };
}

/**
 * OpenAI's streaming shape: a role chunk, content chunks, a finish chunk, optional usage, [DONE].
 * A chunk that cannot be enqueued means the reader is gone: generation is stopped and freed then.
 */
function sseStream(chat: PreparedChat, id: string, created: number, includeUsage: boolean): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const base = { id, object: "chat.completion.chunk", created, model: chat.modelLabel, system_fingerprint: chat.fingerprint };
  const events = chat.events[Symbol.asyncIterator]();
  const stop = () => void events.return?.(undefined).catch(() => undefined);
  /** false when the stream no longer takes data (the client disconnected or cancelled) */
  const write = (ctl: ReadableStreamDefaultController<Uint8Array>, text: string): boolean => {
    try {
      ctl.enqueue(encoder.encode(text));
      return true;
    } catch {
      stop();
      return false;
    }
  };
  const send = (ctl: ReadableStreamDefaultController<Uint8Array>, data: unknown) => write(ctl, `data: ${JSON.stringify(data)}\n\n`);
  const close = (ctl: ReadableStreamDefaultController<Uint8Array>) => {
    try {
      ctl.close();
    } catch {
      // already closed or errored by a cancel
    }
  };
  return new ReadableStream({
    start(ctl) {
      send(ctl, { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
    },
    async pull(ctl) {
      try {
        // keep reading until something is enqueued: a pull that enqueues nothing is not called again
        for (;;) {
          const { value: ev, done } = await events.next();
          if (done) return close(ctl);
          if (ev.type !== "done") {
            if (!ev.text) continue;
            send(ctl, { ...base, choices: [{ index: 0, delta: { content: ev.text }, logprobs: null, finish_reason: null }] });
            return;
          }
          const sent =
            send(ctl, { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: ev.finishReason }] }) &&
            (!includeUsage || send(ctl, { ...base, choices: [], usage: usage(ev) })) &&
            write(ctl, "data: [DONE]\n\n");
          if (sent) close(ctl);
          stop(); // finish the generator: its adapter lease and heap memory are freed now
          return;
        }
      } catch (err) {
        // headers are gone; report in-band as OpenAI does, then end the stream
        if (!(err instanceof LoraEdgeError)) console.error("lora-edge: generation failed:", err); // the client sees no detail; the operator's log does
        const e = err instanceof LoraEdgeError ? err : new LoraEdgeError(500, "internal_error", "generation failed");
        if (send(ctl, e.toJSON())) close(ctl);
      }
    },
    cancel() {
      stop();
    },
  });
}
