/**
 * `npm run build:site` — assemble the Worker's static assets in `site/` (generated, gitignored):
 *
 * - the playground from `public/`: `index.html`, and under `playground/` the CSS and the page's
 *   TypeScript bundled by esbuild (the browser runtime is a chunk loaded only when the page answers
 *   in the browser);
 * - onnxruntime-web's wasm binaries, gzipped under `playground/ort/`: the WebGPU build is 26.8 MB,
 *   over the 25 MiB a static asset may hold, ~6 MB gzipped; the page inflates it with
 *   `DecompressionStream` (public/ort-binaries.ts);
 * - `models/` as `site/models/` (hard links, copies where linking fails): public only through the
 *   Worker's own routes, since wrangler.toml runs the Worker first for every path but `/` and
 *   `/playground/*`.
 *
 * `wrangler dev` and `wrangler deploy` run it first (`[build]` in wrangler.toml); tests call `buildSite()`.
 */
import { build } from "esbuild";
import { copyFile, link, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The folder wrangler.toml's `[assets]` serves. */
export const SITE_DIR = join(ROOT, "site");
/** onnxruntime-web's binaries the page loads: the WebGPU build, and the WASM build (the fallback, the Worker's own). */
export const ORT_BINARIES = ["ort-wasm-simd-threaded.asyncify.wasm", "ort-wasm-simd-threaded.wasm"] as const;

/** Build `site/` from `public/`, onnxruntime-web and `models/`. Returns the files written, relative to `site/`. */
export async function buildSite(opts: { minify?: boolean } = {}): Promise<string[]> {
  await rm(SITE_DIR, { recursive: true, force: true });
  const out = join(SITE_DIR, "playground");
  await mkdir(join(out, "ort"), { recursive: true });
  await copyFile(join(ROOT, "public/index.html"), join(SITE_DIR, "index.html"));
  await copyFile(join(ROOT, "public/playground.css"), join(out, "playground.css"));
  await build({
    entryPoints: [join(ROOT, "public/playground.ts")],
    outdir: out,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: opts.minify ?? true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
    // ORT's bundles probe for Node modules behind runtime checks that never pass in a page
    external: ["node:*", "fs", "path", "url", "worker_threads", "module"],
  });
  for (const name of ORT_BINARIES) {
    const bytes = await readFile(join(ROOT, "node_modules/onnxruntime-web/dist", name));
    await writeFile(join(out, "ort", `${name}.gz`), gzipSync(bytes, { level: 6 }));
  }
  await linkTree(join(ROOT, "models"), join(SITE_DIR, "models"), await assetsIgnored(join(ROOT, "models")));
  return listFiles(SITE_DIR);
}

/**
 * The names `models/.assetsignore` keeps out of the assets (one per line, `#` comments): the pip
 * cache and packages too big for an isolate, such as `npm run model:smollm2`'s. The file itself too.
 */
async function assetsIgnored(dir: string): Promise<Set<string>> {
  const text = await readFile(join(dir, ".assetsignore"), "utf8").catch(() => "");
  const names = text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  return new Set([".assetsignore", ...names]);
}

/** Mirror `from` into `to` with hard links (no copy of a 100 MB weights file), copying where a link is refused; top-level names in `skip` stay out. */
async function linkTree(from: string, to: string, skip: ReadonlySet<string> = new Set()): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) await linkTree(src, dst);
    else if (entry.isFile()) await link(src, dst).catch(() => copyFile(src, dst));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

const HELP = `Usage: npm run build:site [-- --no-minify]

Writes site/ (the Worker's static assets): the playground from public/ bundled by esbuild,
onnxruntime-web's wasm binaries gzipped, and models/ linked in (served only through the Worker).`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help")) {
    console.log(HELP);
    process.exit(0);
  }
  const unknown = args.filter((a) => a !== "--no-minify");
  if (unknown.length) {
    console.error(`build:site: unknown argument ${unknown[0]}`);
    process.exit(1);
  }
  try {
    const files = await buildSite({ minify: !args.includes("--no-minify") });
    let bytes = 0;
    for (const f of files) bytes += (await stat(join(SITE_DIR, f))).size;
    console.error(`build:site: ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${relative(process.cwd(), SITE_DIR) || "."}/`);
  } catch (err) {
    console.error(`build:site: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
