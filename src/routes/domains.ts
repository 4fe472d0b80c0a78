/**
 * Admin API for the domain → adapter mapping: `PUT /v1/domains/{domain}` `{adapter, version?,
 * threshold?, examples?}`, `GET /v1/domains[/{domain}]`, `DELETE /v1/domains/{domain}`. With
 * `examples` the router learns the domain at run time (checked before anything is stored).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import { domainNameSchema, parseAdapterRef } from "../registry/types.ts";
import { adminOf, requireAdmin } from "./admin-auth.ts";
import { readJsonBody } from "./json-body.ts";
import { adminCors } from "./cors.ts";

/** Body of `PUT /v1/domains/{domain}`; `adapter` may carry `@version`. Omitted fields keep their stored value, null clears it. */
export const domainMappingSchema = z.strictObject({
  adapter: z.string().min(1),
  version: z.number().int().positive().optional(),
  threshold: z.number().min(0).max(1).nullish(),
  examples: z.array(z.string()).nullish(),
});

/** Names that mean something else wherever a domain is named: no domain, the router, the base model. */
const RESERVED_DOMAINS = new Set(["none", "auto", "base"]);

export const domainRoutes = new Hono<AppEnv>()
  .use("/v1/domains", adminCors, requireAdmin)
  .use("/v1/domains/*", adminCors, requireAdmin)
  .put("/v1/domains/:domain", async (c) => {
    const admin = adminOf(c);
    const domain = c.req.param("domain");
    const valid = domainNameSchema.safeParse(domain);
    if (!valid.success) throw new LoraEdgeError(400, "invalid_domain", valid.error.issues[0]!.message, { param: "domain" });
    if (RESERVED_DOMAINS.has(domain)) throw new LoraEdgeError(400, "reserved_domain", `"${domain}" is reserved: it means no domain, the router or the base model`, { param: "domain" });
    const limits = c.get("deps").limits;
    const json = await readJsonBody(c, { maxBytes: limits.MAX_DOMAIN_BODY_BYTES, name: "MAX_DOMAIN_BODY_BYTES", code: "body_too_large" });
    const body = domainMappingSchema.parse(json);
    const ref = parseAdapterRef(body.adapter, "adapter");
    if (ref.version !== undefined && body.version !== undefined && ref.version !== body.version) {
      throw new LoraEdgeError(400, "invalid_request", `adapter says @${ref.version} but version is ${body.version}`, { param: "version" });
    }
    if (body.examples) await admin.checkDomainExamples(domain, body.examples);
    const mapping = await admin.registry.mapDomain(domain, {
      adapter: ref.name,
      ...(ref.version ?? body.version ? { version: ref.version ?? body.version } : {}),
      ...(body.threshold !== undefined ? { threshold: body.threshold } : {}),
      ...(body.examples !== undefined ? { examples: body.examples } : {}),
    });
    return c.json(mapping);
  })
  .get("/v1/domains", async (c) => c.json({ object: "list", data: await adminOf(c).registry.domains() }))
  .get("/v1/domains/:domain", async (c) => {
    const mapping = await adminOf(c).registry.domain(c.req.param("domain"));
    if (!mapping) throw new LoraEdgeError(404, "domain_not_found", `no domain ${c.req.param("domain")}`, { param: "domain" });
    return c.json(mapping);
  })
  .delete("/v1/domains/:domain", async (c) => {
    const domain = c.req.param("domain");
    if (!(await adminOf(c).registry.unmapDomain(domain))) throw new LoraEdgeError(404, "domain_not_found", `no domain ${domain}`, { param: "domain" });
    return c.json({ object: "domain", domain, deleted: true });
  });
