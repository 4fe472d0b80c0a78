/** `GET /v1/models`: the base model and every registered adapter (`parent` = the base, as vLLM does). */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { publicCors } from "./cors.ts";

export const modelRoutes = new Hono<AppEnv>().use("/v1/models", publicCors).get("/v1/models", async (c) => {
  const deps = c.get("deps");
  const engine = await deps.engine();
  const name = engine.manifest.name;
  const base = { id: name, object: "model" as const, created: 0, owned_by: "lora-edge", parent: null, root: name };
  return c.json({ object: "list", data: [base, ...(await deps.listAdapterModels())] });
});
