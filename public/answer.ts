/**
 * What the playground shows under each answer, whichever side ran it: the routing decision
 * (domain, confidence, adapter@version, reason), the phases' timings and the decode speed.
 */
export type AnswerInfo = {
  /** "edge" (the Worker's chat API) or the browser backend that ran it ("webgpu", "wasm") */
  where: string;
  domain: string;
  confidence: string;
  adapter: string;
  reason: string;
  /** phases in order, e.g. route, adapter-load, prefill, decode (Server-Timing's names) */
  timing: Array<{ name: string; ms: number }>;
  completionTokens: number;
  /** completion tokens per second from the first token to the last */
  tokensPerSecond: number;
};

/** The request as the playground's form gives it. */
export type PlaygroundRequest = {
  messages: Array<{ role: "user" | "assistant"; content: string }>;
  /** "auto", "base", an adapter name; ignored when `adapters` is given */
  model: string;
  /** a weighted mix of adapters */
  adapters?: Array<{ name: string; weight: number }>;
  maxTokens: number;
  /** absent: the model's recommended sampling (generation_config.json), else temperature 1 */
  temperature?: number;
};

/** Parse a `Server-Timing` header: `route;dur=1.2, adapter-load;dur=0.1` → phases. */
export function parseServerTiming(header: string | null): AnswerInfo["timing"] {
  if (!header) return [];
  return header.split(",").flatMap((part) => {
    const [name, ...params] = part.trim().split(";");
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith("dur="));
    return name && dur ? [{ name, ms: Number(dur.slice(4)) }] : [];
  });
}
