/**
 * Request limits, read from the Worker's vars (wrangler.toml) with safe defaults.
 */
import { z } from "zod";

const num = (fallback: number) => z.coerce.number().int().positive().catch(fallback);

export const limitsSchema = z.object({
  MAX_MESSAGES: num(64),
  MAX_INPUT_CHARS: num(32_000),
  MAX_TOKENS_DEFAULT: num(128),
  MAX_TOKENS_LIMIT: num(512),
  MAX_UPLOAD_BYTES: num(64 * 1024 * 1024),
  MAX_ADAPTER_RANK: num(64),
  /** warm tier: adapters' compact stored forms */
  ADAPTER_CACHE_BYTES: num(48 * 1024 * 1024),
  /** hot tier: prepared feeds ready to run (leased adapters may exceed it) */
  ADAPTER_HOT_BYTES: num(12 * 1024 * 1024),
  /** Longest wait for an adapter's prepared form from R2 before the request gets a 503. */
  ADAPTER_LOAD_TIMEOUT_MS: num(5_000),
});
export type Limits = z.infer<typeof limitsSchema>;

/** @example readLimits(env) // { MAX_MESSAGES: 64, ... } */
export function readLimits(vars: Record<string, unknown>): Limits {
  return limitsSchema.parse(vars);
}
