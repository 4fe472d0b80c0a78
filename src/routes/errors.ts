/**
 * The one place errors become responses: OpenAI's shape `{error: {message, type, param, code}}`
 * with the error's status (and `Retry-After` on 503s).
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ZodError } from "zod";
import { LoraEdgeError } from "../errors.ts";

export function toLoraEdgeError(err: unknown): LoraEdgeError {
  if (err instanceof LoraEdgeError) return err;
  if (err instanceof ZodError) {
    const issue = err.issues[0]!;
    const param = issue.path.join(".") || null;
    return new LoraEdgeError(400, "invalid_request", param ? `${param}: ${issue.message}` : issue.message, param ? { param } : {});
  }
  if (err instanceof HTTPException) return new LoraEdgeError(err.status, err.status === 404 ? "not_found" : "http_error", err.message || "request failed");
  return new LoraEdgeError(500, "internal_error", "internal error", { cause: err });
}

/** Hono `onError` handler. */
export function errorResponse(err: unknown, c: Context): Response {
  const e = toLoraEdgeError(err);
  if (e.status >= 500 && e.code === "internal_error") console.error(err);
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers["Retry-After"] = String(e.retryAfter);
  return c.json(e.toJSON(), e.status as 400, headers);
}
