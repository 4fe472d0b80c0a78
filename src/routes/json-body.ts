/** Request bodies as JSON: one refusal (400 `invalid_json`) for every route that reads one. */
import type { Context } from "hono";
import { LoraEdgeError } from "../errors.ts";

/** @example const body = chatRequestSchema.parse(await readJsonBody(c)); */
export async function readJsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new LoraEdgeError(400, "invalid_json", "request body is not valid JSON");
  }
}
