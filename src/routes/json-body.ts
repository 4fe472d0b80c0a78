/**
 * Request bodies as JSON: one refusal (400 `invalid_json`) for every route that reads one; with a
 * `limit`, the body is also capped (413, ./bounded-body.ts) and must be declared JSON (415).
 */
import type { Context } from "hono";
import { LoraEdgeError } from "../errors.ts";
import { assertDeclaredLength, readBoundedBody, type BodyLimit } from "./bounded-body.ts";

/** `application/json`, or a `+json` type, with any parameters. */
const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Refuse what can be refused from the headers alone — a declared length over the limit (413), a
 * content type that is not JSON (415) — before a byte of the body is read.
 *
 * @example assertJsonHeaders(c, { maxBytes: 1 << 20, name: "MAX_CHAT_BODY_BYTES", code: "body_too_large" });
 */
export function assertJsonHeaders(c: Context, limit: BodyLimit): void {
  assertDeclaredLength(c.req.raw, limit);
  const type = c.req.header("content-type") ?? "";
  if (!JSON_TYPE.test(type)) throw new LoraEdgeError(415, "unsupported_media_type", `the body must be JSON (Content-Type: application/json), got ${type || "no content type"}`);
}

/** @example const body = chatRequestSchema.parse(await readJsonBody(c, { maxBytes: limits.MAX_CHAT_BODY_BYTES, name: "MAX_CHAT_BODY_BYTES", code: "body_too_large" })); */
export async function readJsonBody(c: Context, limit?: BodyLimit): Promise<unknown> {
  let text: string;
  if (limit) {
    assertJsonHeaders(c, limit);
    text = new TextDecoder().decode(await readBoundedBody(c.req.raw, limit));
  } else text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new LoraEdgeError(400, "invalid_json", "request body is not valid JSON");
  }
}
