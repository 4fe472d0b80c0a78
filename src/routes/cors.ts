/**
 * CORS for browser clients, from the deployment's vars: the public API (chat, models, route,
 * healthz) answers the origins in `CORS_ORIGINS` (default `*`), the admin API those in
 * `ADMIN_CORS_ORIGINS` (default none: no CORS headers at all, so a page cannot drive it with a
 * visitor's token). Hono's own middleware does the protocol, preflights included.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../deps.ts";

type Setting = "CORS_ORIGINS" | "ADMIN_CORS_ORIGINS";

/** The allowed origin for a request's `Origin`, or null: `*` allows all, otherwise an exact entry of the comma-separated list. */
export function allowedOrigin(setting: string, origin: string): string | null {
  const list = setting.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.includes("*")) return "*";
  return list.includes(origin) ? origin : null;
}

function corsFrom(setting: Setting): MiddlewareHandler<AppEnv> {
  const handler = cors({
    origin: (origin, c) => allowedOrigin((c.get("deps") as AppEnv["Variables"]["deps"]).limits[setting], origin),
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type"],
    exposeHeaders: ["Retry-After", "Server-Timing", "x-lora-domain", "x-lora-adapter", "x-router-confidence", "x-lora-route-reason"],
    maxAge: 600,
  });
  return async (c, next) => {
    if (c.get("deps").limits[setting].trim() === "") return next();
    return handler(c, next);
  };
}

/** @example new Hono<AppEnv>().use("/v1/chat/completions", publicCors) */
export const publicCors = corsFrom("CORS_ORIGINS");
/** @example new Hono<AppEnv>().use("/v1/adapters/*", adminCors, requireAdmin) */
export const adminCors = corsFrom("ADMIN_CORS_ORIGINS");
