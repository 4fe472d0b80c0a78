/**
 * The Worker as deployed, run by miniflare (workerd with local R2 and D1) on a real loopback port:
 * `wrangler deploy --dry-run` bundles it, the model package is served as wrangler.toml's static
 * assets, the D1 migrations are applied, and the vars, compatibility date and flags come from
 * wrangler.toml (overridable). For benches and for tests that need what the vitest pool cannot
 * give, such as real HTTP clients that drop their connection.
 *
 * @example const w = await startBundledWorker({ vars: { STREAM_IDLE_TIMEOUT_MS: "600000" } }); await fetch(new URL("/healthz", w.url)); await w.dispose();
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { SITE_DIR } from "../../tools/build-site.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type BundledWorker = { mf: Miniflare; url: URL; dispose(): Promise<void> };

/** wrangler.toml's top-level settings and `[vars]` (the only TOML shapes it uses: `key = "…"` and string lists). */
export function wranglerConfig(): { compatibilityDate: string; compatibilityFlags: string[]; vars: Record<string, string> } {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const vars = toml.slice(toml.indexOf("[vars]"));
  return {
    compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)![1]!,
    compatibilityFlags: [.../^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)![1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!),
    vars: Object.fromEntries([...vars.matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!])),
  };
}

/** Statements of every migration, in order (comments dropped). */
function migrationStatements(): string[] {
  const dir = join(ROOT, "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  return files.flatMap((f) =>
    readFileSync(join(dir, f), "utf8")
      .split("\n")
      .map((l) => l.replace(/--.*$/, ""))
      .join("\n")
      .split(";")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** Bundle the Worker and serve it on a loopback port; `vars` override wrangler.toml's, `assetsDir` replaces site/ as its static assets. */
export async function startBundledWorker(opts: { vars?: Record<string, string>; assetsDir?: string } = {}): Promise<BundledWorker> {
  const out = mkdtempSync(join(tmpdir(), "lora-edge-worker-"));
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const config = wranglerConfig();
  const mf = new Miniflare({
    // listed by hand, main module first: the bundle holds dynamic imports miniflare cannot follow
    modules: readdirSync(out).sort((a, b) => Number(b === "index.js") - Number(a === "index.js")).flatMap((f) => {
      const type = f === "index.js" ? "ESModule" : f.endsWith(".wasm") ? "CompiledWasm" : /\.(onnx|weights|safetensors)$/.test(f) ? "Data" : undefined;
      return type ? [{ type, path: join(out, f) } as const] : [];
    }),
    modulesRoot: out,
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    d1Databases: ["DB"],
    r2Buckets: ["ADAPTERS"],
    bindings: { ...config.vars, SEED_DEMO_ADAPTERS: "false", ...opts.vars },
    // site/ (the playground and the model package, written by wrangler's [build] above), as
    // wrangler.toml's [assets] serves it to the Worker
    assets: { directory: opts.assetsDir ?? SITE_DIR, binding: "ASSETS", routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
    host: "127.0.0.1",
    port: 0,
  });
  try {
    const url = await mf.ready;
    const db = await mf.getD1Database("DB");
    for (const sql of migrationStatements()) await db.prepare(sql).run();
    return {
      mf,
      url,
      dispose: async () => {
        await mf.dispose();
        rmSync(out, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await mf.dispose();
    rmSync(out, { recursive: true, force: true });
    throw err;
  }
}
