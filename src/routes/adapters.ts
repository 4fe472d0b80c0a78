/**
 * Admin API for adapters: `PUT /v1/adapters/{name}` (multipart upload → next version, 201 with its
 * manifest), `GET /v1/adapters`, `GET /v1/adapters/{name}[@version]`, `DELETE /v1/adapters/{name}[@version]`.
 * HTTP only: reading, validation and storage live in routes/admin-upload.ts and src/registry.
 */
import { Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import { adapterNameSchema, parseAdapterRef } from "../registry/types.ts";
import { prepareUpload } from "../registry/upload.ts";
import { adminOf, requireAdmin } from "./admin-auth.ts";
import { readAdapterUpload } from "./admin-upload.ts";
import { adminCors } from "./cors.ts";

/** Names chat's `model` field gives another meaning. */
const RESERVED = new Set(["base", "auto"]);

export const adapterRoutes = new Hono<AppEnv>()
  .use("/v1/adapters", adminCors, requireAdmin)
  .use("/v1/adapters/*", adminCors, requireAdmin)
  .put("/v1/adapters/:name", async (c) => {
    const admin = adminOf(c);
    const name = c.req.param("name");
    const valid = adapterNameSchema.safeParse(name);
    if (!valid.success) throw new LoraEdgeError(400, "invalid_adapter_name", valid.error.issues[0]!.message, { param: "name" });
    const base = await admin.base();
    if (RESERVED.has(name) || name === base.manifest.name) throw new LoraEdgeError(400, "reserved_name", `"${name}" names the base model or the router in chat's model field`, { param: "name" });
    const files = await readAdapterUpload(c.req.raw, c.get("deps").limits.MAX_UPLOAD_BYTES);
    const upload = await prepareUpload(name, files, base, { maxRank: c.get("deps").limits.MAX_ADAPTER_RANK });
    return c.json(await admin.registry.register(upload), 201);
  })
  .get("/v1/adapters", async (c) => c.json({ object: "list", data: await adminOf(c).registry.list() }))
  .get("/v1/adapters/:ref", async (c) => {
    const { name, version } = parseAdapterRef(c.req.param("ref"), "name");
    const registry = adminOf(c).registry;
    if (version !== undefined) {
      const one = await registry.resolve(name, version);
      if (!one) throw new LoraEdgeError(404, "adapter_not_found", `no adapter ${name}@${version}`, { param: "name" });
      return c.json(one);
    }
    const versions = await registry.versions(name);
    if (versions.length === 0) throw new LoraEdgeError(404, "adapter_not_found", `no adapter ${name}`, { param: "name" });
    return c.json({ object: "list", data: versions });
  })
  .delete("/v1/adapters/:ref", async (c) => {
    const { name, version } = parseAdapterRef(c.req.param("ref"), "name");
    const deleted = await adminOf(c).registry.delete(name, version);
    return c.json({ object: "list", deleted: true, data: deleted });
  });
