/**
 * The playground on the Node host, as wrangler's `[assets]` serves it for the Worker: `site/`
 * (`npm run build:site`) answers `/` and `/playground/*`; every other path goes to the app, so the
 * model package leaves only through `/v1/model-package`. Building `site/` needs the dev toolchain
 * (esbuild): `prepareSite` builds it when that is installed, and otherwise serves a `site/` built
 * beforehand (the container's build stage) or none.
 *
 * @example startServer(withSite("site", createApp(deps).fetch), { port: 8787 })
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { serveStatic } from "@hono/node-server/serve-static";

type Fetch = (req: Request) => Response | Promise<Response>;

/** `app` with the playground in `siteDir` in front of it. */
export function withSite(siteDir: string, app: Fetch): Fetch {
  const site = new Hono();
  site.get("/", serveStatic({ path: join(siteDir, "index.html") }));
  site.get("/playground/*", serveStatic({ root: siteDir }));
  site.all("*", (c) => app(c.req.raw));
  return (req) => site.fetch(req);
}

/**
 * Build `site/` if this checkout can (it is skipped when up to date); whether a playground is there
 * to serve, and why not when it is not.
 */
export async function prepareSite(siteDir: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const { buildSite } = await import("../../tools/build-site.ts");
    await buildSite();
  } catch (err) {
    if (!existsSync(join(siteDir, "index.html"))) return { ok: false, reason: `no ${siteDir}/index.html and it cannot be built here (${(err as Error).message.split("\n")[0]})` };
  }
  return existsSync(join(siteDir, "index.html")) ? { ok: true } : { ok: false, reason: `no ${siteDir}/index.html` };
}
