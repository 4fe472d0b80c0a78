/**
 * OpenAI chat completion request, as one zod schema (contract 4). lora-edge's additions are
 * optional extra fields (`top_k`, `adapters`), so the official `openai` client works unchanged.
 */
import { z } from "zod";
import { LoraEdgeError } from "../errors.ts";

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart)]).nullable(),
  name: z.string().optional(),
});

export const chatRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().optional().default(false),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  user: z.string().optional(),
  /** lora-edge: compose several adapters with weights (overrides `model`'s adapter). */
  adapters: z.array(z.object({ name: z.string().min(1), weight: z.number().finite() })).max(8).optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const never = () => false;

/**
 * OpenAI request fields that change what the answer must be, and the only value of each that
 * lora-edge honours (the default: one choice, plain text, no tools, no logprobs, no penalties or
 * biases). Any other value is refused: a client must never get an answer that ignored what it asked.
 */
const HONOURED_ONLY_AS: Record<string, (v: unknown) => boolean> = {
  n: (v) => v === 1,
  response_format: (v) => isRecord(v) && v["type"] === "text" && Object.keys(v).length === 1,
  logprobs: (v) => v === false,
  top_logprobs: (v) => v === 0,
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === "none",
  parallel_tool_calls: (v) => typeof v === "boolean",
  functions: (v) => Array.isArray(v) && v.length === 0,
  function_call: (v) => v === "none",
  logit_bias: (v) => isRecord(v) && Object.keys(v).length === 0,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === "text",
  audio: never,
  prediction: never,
  reasoning_effort: never,
  web_search_options: never,
};

/**
 * Refuse (400 `unsupported_parameter`, naming it) a field whose value asks for something lora-edge
 * does not do; null or absent fields are fine.
 *
 * @example assertHonoured({ model: "auto", messages, n: 2 }) // throws: param "n"
 */
export function assertHonoured(body: unknown): void {
  if (!isRecord(body)) return;
  for (const [field, honoured] of Object.entries(HONOURED_ONLY_AS)) {
    const v = body[field];
    if (v === undefined || v === null || honoured(v)) continue;
    throw new LoraEdgeError(400, "unsupported_parameter", `${field} = ${JSON.stringify(v)} is not supported by lora-edge${field === "response_format" ? ' (only {"type": "text"})' : field === "n" ? " (only n = 1)" : ""}`, { param: field });
  }
}
export type ChatRequestMessage = z.infer<typeof message>;

/** Message content as plain text (text parts joined). */
export function messageText(m: ChatRequestMessage): string {
  if (m.content === null) return "";
  return typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join("");
}
