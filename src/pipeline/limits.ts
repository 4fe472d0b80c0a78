/**
 * Request limits and HTTP policy, read from the Worker's vars (wrangler.toml) with safe defaults.
 */
import { z } from "zod";

const num = (fallback: number) => z.coerce.number().int().positive().catch(fallback);

export const limitsSchema = z.object({
  MAX_MESSAGES: num(64),
  MAX_INPUT_CHARS: num(32_000),
  MAX_TOKENS_DEFAULT: num(128),
  MAX_TOKENS_LIMIT: num(512),
  MAX_UPLOAD_BYTES: num(64 * 1024 * 1024),
  /** A chat request's JSON body (413 above it). */
  MAX_CHAT_BODY_BYTES: num(1024 * 1024),
  /** A `PUT /v1/domains/{d}` body, examples included (413 above it; the registry row must fit the store). */
  MAX_DOMAIN_BODY_BYTES: num(1024 * 1024),
  /** Origins browsers may call the public API from (chat, models, route, healthz): `*`, a comma-separated list, or empty for none. */
  CORS_ORIGINS: z.string().catch("*"),
  /** Origins for the admin API (adapters, domains); empty (the default) sends no CORS headers. */
  ADMIN_CORS_ORIGINS: z.string().catch(""),
  MAX_ADAPTER_RANK: num(64),
  /** warm tier: adapters' compact stored forms */
  ADAPTER_CACHE_BYTES: num(32 * 1024 * 1024),
  /** hot tier: prepared feeds ready to run (leased adapters may exceed it) */
  ADAPTER_HOT_BYTES: num(12 * 1024 * 1024),
  /** Longest wait for an adapter's prepared form from R2 before the request gets a 503. */
  ADAPTER_LOAD_TIMEOUT_MS: num(5_000),
  /**
   * Generation memory per isolate: KV caches (prompt + max_tokens) and LoRA inputs of the requests
   * running at once (src/pipeline/admission.ts). With the demo model's ~54 MiB of wasm heap (base
   * and one prefill chunk's scratch) and the adapter tiers' 12 + 32 MiB it keeps an isolate under 128 MB.
   */
  MEMORY_BUDGET_BYTES: num(16 * 1024 * 1024),
  /** Requests that may wait for memory; one more gets a 429. */
  ADMISSION_QUEUE: num(32),
  /** Longest wait for memory before a 429. */
  ADMISSION_TIMEOUT_MS: num(10_000),
  /** A stream nobody has read from for this long (a client gone without the host noticing) is stopped and freed. */
  STREAM_IDLE_TIMEOUT_MS: num(30_000),
  /** Prompt tokens per prefill pass: attention's scratch grows with its square (1024 tokens in one pass: ~97 MiB). */
  PREFILL_CHUNK_TOKENS: num(128),
});
export type Limits = z.infer<typeof limitsSchema>;

/** @example readLimits(env) // { MAX_MESSAGES: 64, ... } */
export function readLimits(vars: Record<string, unknown>): Limits {
  return limitsSchema.parse(vars);
}
