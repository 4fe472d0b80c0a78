/**
 * `POST /v1/chat/completions`: parse, hand the request to the pipeline, shape the answer as
 * OpenAI JSON or SSE (`data: {chunk}` … `data: [DONE]`). No model logic here.
 */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import type { GenerationEvent } from "../runtime/engine.ts";
import { chatRequestSchema } from "./openai-schema.ts";
import { prepareChat, type PreparedChat } from "../pipeline/chat.ts";
import { readJsonBody } from "./json-body.ts";

export const chatRoutes = new Hono<AppEnv>().post("/v1/chat/completions", async (c) => {
  const body = await readJsonBody(c);
  const request = chatRequestSchema.parse(body);
  const chat = await prepareChat(c.get("deps"), request);
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

function usage(done: Extract<GenerationEvent, { type: "done" }>) {
  return { prompt_tokens: done.promptTokens, completion_tokens: done.completionTokens, total_tokens: done.promptTokens + done.completionTokens };
}

/** OpenAI's streaming shape: a role chunk, content chunks, a finish chunk, optional usage, [DONE]. */
function sseStream(chat: PreparedChat, id: string, created: number, includeUsage: boolean): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const base = { id, object: "chat.completion.chunk", created, model: chat.modelLabel, system_fingerprint: chat.fingerprint };
  const send = (ctl: ReadableStreamDefaultController<Uint8Array>, data: unknown) => ctl.enqueue(encoder.encode(`data: ${JSON.stringify(data)}\n\n`));
  const events = chat.events[Symbol.asyncIterator]();
  return new ReadableStream({
    start(ctl) {
      send(ctl, { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
    },
    async pull(ctl) {
      try {
        // keep reading until something is enqueued: a pull that enqueues nothing is not called again
        for (;;) {
          const { value: ev, done } = await events.next();
          if (done) return;
          if (ev.type !== "done") {
            if (!ev.text) continue;
            send(ctl, { ...base, choices: [{ index: 0, delta: { content: ev.text }, logprobs: null, finish_reason: null }] });
            return;
          }
          send(ctl, { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: ev.finishReason }] });
          if (includeUsage) send(ctl, { ...base, choices: [], usage: usage(ev) });
          ctl.enqueue(encoder.encode("data: [DONE]\n\n"));
          ctl.close();
          await events.return?.(undefined); // finish the generator: its adapter lease and heap memory are freed now
          return;
        }
      } catch (err) {
        // headers are gone; report in-band as OpenAI does, then end the stream
        const e = err instanceof LoraEdgeError ? err : new LoraEdgeError(500, "internal_error", "generation failed");
        send(ctl, e.toJSON());
        ctl.close();
      }
    },
    async cancel() {
      await events.return?.();
    },
  });
}
