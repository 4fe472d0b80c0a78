/**
 * OpenAI chat completion request, as one zod schema (contract 4). lora-edge's additions are
 * optional extra fields (`top_k`, `adapters`), so the official `openai` client works unchanged.
 */
import { z } from "zod";

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
  n: z.literal(1, { error: "only n = 1 is supported" }).nullish(),
  user: z.string().optional(),
  /** lora-edge: compose several adapters with weights (overrides `model`'s adapter). */
  adapters: z.array(z.object({ name: z.string().min(1), weight: z.number().finite() })).max(8).optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatRequestMessage = z.infer<typeof message>;

/** Message content as plain text (text parts joined). */
export function messageText(m: ChatRequestMessage): string {
  if (m.content === null) return "";
  return typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join("");
}
