/**
 * `GET /v1/adapter-feeds/{name}[@version]`: an adapter version's stored prepared form
 * (`lora-edge.prepared/1` safetensors, src/adapters/prepare.ts), for a runtime that composes
 * adapters itself (the browser playground). `name@version` never changes once written (versions
 * are never reused), so it is cached for a year with its sha256 as ETag; `name` alone (the latest
 * version) is revalidated on each use. `x-lora-adapter` names the version, `x-lora-base` the base
 * it was checked against.
 *
 * Public like `/v1/route` and chat: whoever can chat with an adapter can already use it, and a page
 * that answers on the user's GPU needs its feeds without an admin token. A deployment whose adapter
 * weights must stay private leaves `preparedAdapter` out of its dependencies (404).
 */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import { etagOf, IMMUTABLE, notModified } from "./http-read.ts";

export const adapterFeedRoutes = new Hono<AppEnv>().get("/v1/adapter-feeds/:model", async (c) => {
  const read = c.get("deps").preparedAdapter;
  if (!read) throw new LoraEdgeError(404, "not_found", "this deployment does not serve adapter feeds");
  const model = c.req.param("model");
  const { adapter, data } = await read(model);
  const headers = {
    ETag: etagOf(adapter.prepared.sha256),
    "Cache-Control": model.includes("@") ? IMMUTABLE : "no-cache",
    "x-lora-adapter": adapter.id,
    "x-lora-base": adapter.base_model_hash,
  };
  return notModified(c.req.raw, headers.ETag, headers) ?? new Response(data as Uint8Array<ArrayBuffer>, { headers: { ...headers, "Content-Type": "application/octet-stream" } });
});
