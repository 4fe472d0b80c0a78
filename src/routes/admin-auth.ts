/**
 * Bearer-token guard for the admin API. The token is the `ADMIN_TOKEN` secret; both sides are
 * hashed first so the comparison is constant-time over equal-length digests, whatever the lengths
 * of the strings. A missing or wrong token is refused before the handler runs, so it changes nothing.
 */
import type { Context, Next } from "hono";
import type { AdminDeps, AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";

/**
 * Hono middleware; also puts the admin deps where handlers find them (`adminOf(c)`).
 *
 * @example new Hono<AppEnv>().use("/v1/adapters/*", requireAdmin)
 */
export async function requireAdmin(c: Context<AppEnv>, next: Next): Promise<void> {
  const admin = c.get("deps").admin;
  if (!admin) throw new LoraEdgeError(404, "not_found", "this deployment has no adapter registry");
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) throw unauthorized("missing bearer token (Authorization: Bearer <ADMIN_TOKEN>)");
  if (admin.token === undefined || admin.token === "") throw unauthorized("the admin API is disabled: set the ADMIN_TOKEN secret");
  if (!(await tokensEqual(m[1]!.trim(), admin.token))) throw unauthorized("invalid admin token");
  await next();
}

/** The admin deps of a request that passed `requireAdmin`. */
export function adminOf(c: Context<AppEnv>): AdminDeps {
  return c.get("deps").admin!;
}

/** @example await tokensEqual("a", "a") // true — time independent of where the strings differ */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(given)), crypto.subtle.digest("SHA-256", enc.encode(expected))]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

function unauthorized(message: string): LoraEdgeError {
  return new LoraEdgeError(401, "invalid_api_key", message);
}
