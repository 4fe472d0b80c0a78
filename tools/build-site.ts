/**
 * `npm run build:site` — assemble the Worker's static assets in `site/` (generated, gitignored):
 *
 * - the playground from `public/`: `index.html`, and under `playground/` the CSS and the page's
 *   TypeScript bundled by esbuild (the browser runtime is a chunk loaded only when the page answers
 *   in the browser);
 * - onnxruntime-web's wasm binaries, gzipped under `playground/ort/`: the WebGPU build is 26.8 MB,
 *   over the 25 MiB a static asset may hold, ~6 MB gzipped; the page inflates it with
 *   `DecompressionStream` (public/ort-binaries.ts);
 * - the model packages in `models/` (folders with a manifest) under `site/models/` (hard links):
 *   public only through the Worker's own routes, since wrangler.toml runs the Worker first for
 *   every path but `/` and `/playground/*`.
 *
 * `wrangler dev` and `wrangler deploy` run it first (`[build]` in wrangler.toml); tests call `buildSite()`.
 * It does nothing when its inputs have not changed since the last build (a stamp of their paths,
 * sizes and times), so the test projects and `wrangler dev` running side by side never rebuild the
 * folder under each other.
 */
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFile, link, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The folder wrangler.toml's `[assets]` serves. */
export const SITE_DIR = join(ROOT, "site");
/** onnxruntime-web's binaries the page loads: the WebGPU build, and the WASM build (the fallback, the Worker's own). */
export const ORT_BINARIES = ["ort-wasm-simd-threaded.asyncify.wasm", "ort-wasm-simd-threaded.wasm"] as const;

/** Where the stamp of the last build's inputs is kept (outside `site/`, which is uploaded as is). */
const STAMP = join(ROOT, "node_modules/.cache/lora-edge/site-stamp");

/** Build `site/` from `public/`, onnxruntime-web and `models/` unless it is up to date. Returns its files, relative to `site/`. */
export async function buildSite(opts: { minify?: boolean } = {}): Promise<string[]> {
  const stamp = await inputsStamp(opts.minify ?? true);
  if ((await readFile(STAMP, "utf8").catch(() => "")) === stamp) return listFiles(SITE_DIR);
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
  await linkPackages(join(ROOT, "models"), join(SITE_DIR, "models"), await assetsIgnored(join(ROOT, "models")));
  await mkdir(dirname(STAMP), { recursive: true });
  await writeFile(STAMP, stamp);
  return listFiles(SITE_DIR);
}

/** A hash of every input's path, size and modification time (and the options). */
async function inputsStamp(minify: boolean): Promise<string> {
  const h = createHash("sha256").update(`minify=${minify}\n`);
  const dirs = ["public", "src", "models", "node_modules/onnxruntime-web/dist", "tools/build-site.ts"];
  for (const d of dirs) {
    const path = join(ROOT, d);
    const files = (await stat(path)).isDirectory() ? (await listFiles(path)).map((f) => join(path, f)) : [path];
    for (const f of files) {
      const { size, mtimeMs } = await stat(f);
      h.update(`${relative(ROOT, f)} ${size} ${mtimeMs}\n`);
    }
  }
  return h.digest("hex");
}

/** The largest file a static asset may be (wrangler refuses the whole folder otherwise). */
export const MAX_ASSET_BYTES = 25 * 2 ** 20;

/**
 * The names `models/.assetsignore` keeps out of the assets (one per line, `#` comments): the pip
 * cache and packages too big for an isolate, such as `npm run model:smollm2`'s.
 */
export async function assetsIgnored(dir: string): Promise<Set<string>> {
  const text = await readFile(join(dir, ".assetsignore"), "utf8").catch(() => "");
  return new Set(text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean));
}

/**
 * Link every model package in `models/` (a folder with a `manifest.json`, not named in `skip`)
 * into `to` with hard links (no copy of a 100 MB weights file), copying where a link is refused.
 * A file over the asset limit is left out with a warning: the Worker cannot serve it.
 */
async function linkPackages(from: string, to: string, skip: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const dir = join(from, entry.name);
    if (!entry.isDirectory() || skip.has(entry.name) || !(await stat(join(dir, "manifest.json")).catch(() => undefined))) continue;
    for (const file of await listFiles(dir)) {
      const [src, dst] = [join(dir, file), join(to, entry.name, file)];
      if ((await stat(src)).size > MAX_ASSET_BYTES) {
        console.error(`build:site: ${relative(ROOT, src)} is over the 25 MiB a static asset may hold; left out of site/`);
        continue;
      }
      await mkdir(dirname(dst), { recursive: true });
      await link(src, dst).catch(() => copyFile(src, dst));
    }
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

const HELP = `Usage: npm run build:site [-- --no-minify]

Writes site/ (the Worker's static assets): the playground from public/ bundled by esbuild,
onnxruntime-web's wasm binaries gzipped, and the model packages in models/ linked in (served only
through the Worker; a file over the 25 MiB asset limit is left out with a warning).`;

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
