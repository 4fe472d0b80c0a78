/**
 * The engine harness page (test/browser/harness.ts) served with model packages, for the engine
 * tests and the browser bench: the site (ORT's binaries as the playground serves them) at `/`, the
 * harness at `/harness/`, each package at `/pkg/<name>/`. Also builds the demo's architecture and
 * seed in other weight formats (models/demo is the int8 build).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { buildSite, SITE_DIR } from "../../../tools/build-site.ts";
import { openPage } from "./chromium.ts";
import { serveStatic } from "./static-server.ts";
import type { Harness } from "../harness.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export type HarnessServer = {
  url: string;
  /** Open the harness in `browser` and call one of its functions; console errors on the page fail the call. */
  call<K extends keyof Harness>(browser: Browser, fn: K, ...args: Parameters<Harness[K]>): ReturnType<Harness[K]>;
  close(): Promise<void>;
};

/** Build the site and the harness bundle, and serve them with `packages` (name → directory). */
export async function serveHarness(packages: Record<string, string>): Promise<HarnessServer> {
  const dir = await mkdtemp(join(tmpdir(), "lora-edge-harness-"));
  await buildSite();
  await build({
    entryPoints: [join(ROOT, "test/browser/harness.ts")],
    outdir: dir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external: ["node:*", "fs", "path", "url", "worker_threads", "module"],
    logLevel: "warning",
  });
  await writeFile(join(dir, "index.html"), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="harness.js"></script>');
  const mounts: Record<string, string> = { "/": SITE_DIR, "/harness/": dir };
  for (const [name, pkg] of Object.entries(packages)) mounts[`/pkg/${name}/`] = pkg;
  const server = await serveStatic(mounts);
  return {
    url: server.url,
    call: (async (browser: Browser, fn: keyof Harness, ...args: unknown[]) => {
      const { page, errors } = await openPage(browser, `${server.url}/harness/`);
      try {
        await page.waitForFunction(() => "harness" in globalThis);
        const result = await page.evaluate(([f, a]) => (globalThis as unknown as { harness: Record<string, (...x: unknown[]) => unknown> }).harness[f]!(...a), [fn, args] as const);
        if (errors.length) throw new Error(`the harness page logged errors:\n${errors.join("\n")}`);
        return result;
      } finally {
        await page.close();
      }
    }) as HarnessServer["call"],
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `npm run build-model -- --random --preset demo --format <format>` into `out`: the demo in another weight format. */
export async function buildDemoVariant(format: "fp32" | "int4" | "int8", out: string): Promise<string> {
  await promisify(execFile)(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "tools/build-model.ts"), "--random", "--preset", "demo", "--format", format, "--out", out], { cwd: ROOT });
  return out.endsWith("/") ? out : `${out}/`;
}
