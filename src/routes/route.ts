/** `POST /v1/route` `{messages | text, model?}`: the routing decision chat would make, without generating. */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import { chatRequestSchema } from "./openai-schema.ts";
import { readJsonBody } from "./json-body.ts";
import { publicCors } from "./cors.ts";

export const routeRequestSchema = z
  .strictObject({
    messages: chatRequestSchema.shape.messages.optional(),
    text: z.string().optional(),
    model: z.string().min(1).optional(),
  })
  .refine((b) => (b.messages === undefined) !== (b.text === undefined), { message: "give either messages or text" });

export const routeRoutes = new Hono<AppEnv>().use("/v1/route", publicCors).post("/v1/route", async (c) => {
  const route = c.get("deps").route;
  if (!route) throw new LoraEdgeError(404, "not_found", "this deployment has no router");
  const json = await readJsonBody(c);
  const body = routeRequestSchema.parse(json);
  return c.json(await route({ ...(body.messages ? { messages: body.messages } : {}), ...(body.text !== undefined ? { text: body.text } : {}), ...(body.model ? { model: body.model } : {}) }));
});
