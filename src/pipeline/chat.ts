/**
 * One chat request through lora-edge, in the order data flows: validate limits → route (which
 * adapter) → resolve the adapter → tokenize → admit (wait for generation memory) → generate. The
 * request's memory and adapter lease are freed when generation ends, fails, is abandoned, its client
 * goes away (`signal`), or nobody reads it for `STREAM_IDLE_TIMEOUT_MS`. The HTTP layer only shapes
 * the result.
 */
import type { AppDeps } from "../deps.ts";
import { releasing } from "./release.ts";
import { requestBytes } from "./request-memory.ts";
import type { ChatInput } from "./chat-input.ts";
import { LoraEdgeError } from "../errors.ts";
import type { GenerationEvent } from "../runtime/engine.ts";
import { samplingFor } from "../runtime/sampling.ts";

export type PreparedChat = {
  /** What `model` the response reports. */
  modelLabel: string;
  fingerprint: string;
  events: AsyncIterable<GenerationEvent>;
  headers(): Record<string, string>;
  serverTiming(done?: Extract<GenerationEvent, { type: "done" }>): string;
};

/** Names that mean "the base model, no adapter". */
export function isBaseModelName(model: string, baseName: string): boolean {
  return model === "base" || model === baseName;
}

export async function prepareChat(deps: AppDeps, req: ChatInput): Promise<PreparedChat> {
  const { limits } = deps;
  if (req.messages.length > limits.MAX_MESSAGES) {
    throw new LoraEdgeError(400, "too_many_messages", `at most ${limits.MAX_MESSAGES} messages per request`, { param: "messages" });
  }
  const messages = req.messages.map((m) => ({ role: m.role === "developer" ? "system" : m.role, content: m.content }));
  const chars = messages.reduce((n, m) => n + m.content.length, 0);
  if (chars > limits.MAX_INPUT_CHARS) {
    throw new LoraEdgeError(400, "input_too_long", `messages hold ${chars} characters; the limit is ${limits.MAX_INPUT_CHARS}`, { param: "messages" });
  }
  const maxTokens = req.maxTokens ?? limits.MAX_TOKENS_DEFAULT;
  if (maxTokens > limits.MAX_TOKENS_LIMIT) {
    throw new LoraEdgeError(400, "invalid_value", `max_tokens must be at most ${limits.MAX_TOKENS_LIMIT}`, { param: "max_tokens" });
  }

  const engine = await deps.engine();
  const baseName = engine.manifest.name;

  // route: which adapter(s), if any
  const t0 = performance.now();
  const selection = await deps.selectAdapters(req, messages, engine);
  const routeMs = performance.now() - t0 - selection.loadMs; // adapter loading is reported on its own

  // tokenize with the package's chat template; refuse prompts the context cannot hold; then wait
  // until the generation's memory fits the budget
  let ids: number[];
  let events: AsyncGenerator<GenerationEvent>;
  let queueMs: number;
  try {
    ({ ids } = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }));
    if (ids.length >= engine.contextLength) {
      throw new LoraEdgeError(400, "context_length_exceeded", `This model's maximum context length is ${engine.contextLength} tokens; the messages use ${ids.length}.`, { param: "messages" });
    }
    const bytes = requestBytes(engine.manifest.architecture, { promptTokens: ids.length, maxTokens, lora: selection.lora });
    const t1 = performance.now();
    const ticket = await deps.admission.admit(bytes, { ...(req.signal ? { signal: req.signal } : {}), onIdle: () => void events?.return(undefined).catch(() => undefined) });
    queueMs = performance.now() - t1;
    const sampling = samplingFor(req, engine.tokenizer.samplingDefaults);
    const generation = engine.generate({
      promptIds: ids,
      maxTokens,
      sampling,
      stopStrings: req.stop ?? [],
      prefillChunk: limits.PREFILL_CHUNK_TOKENS,
      ...(selection.lora ? { lora: selection.lora } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const release = () => {
      selection.release?.();
      ticket.release();
    };
    events = releasing(generation, release, { signal: req.signal, activity: ticket.activity });
  } catch (err) {
    selection.release?.(); // no generation will run: the adapter cache may evict again
    throw err;
  }
  return {
    modelLabel: selection.adapterLabel ?? (isBaseModelName(req.model, baseName) ? baseName : req.model),
    fingerprint: `lora-edge-${engine.modelHash.slice(0, 12)}`,
    events,
    headers: () => ({
      "x-lora-domain": selection.domain ?? "none",
      "x-lora-adapter": selection.adapterLabel ?? "none",
      "x-router-confidence": selection.confidence === undefined ? "n/a" : selection.confidence.toFixed(4),
      "x-lora-route-reason": selection.reason,
    }),
    serverTiming: (done) =>
      [
        `route;dur=${routeMs.toFixed(2)}`,
        `adapter-load;dur=${selection.loadMs.toFixed(2)}`,
        `queue;dur=${queueMs.toFixed(2)}`,
        ...(done ? [`prefill;dur=${done.prefillMs.toFixed(2)}`, `decode;dur=${done.decodeMs.toFixed(2)}`] : []),
      ].join(", "),
  };
}
