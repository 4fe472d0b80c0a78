/**
 * `npm run dev:worker -- --model <folder>`: the Worker in wrangler's local dev server (workerd, local
 * R2/D1, `.dev.vars`), serving `models/<folder>/` instead of the demo — a package whose weights are
 * split into parts under the 25 MiB static-asset limit (`npm run model:smollm2 -- --format int4
 * --split-mib 24 --out models/smollm2-135m-int4-split`).
 *
 * Why not `wrangler dev --var MODEL_PACKAGE:<folder>`: wrangler 4.86 (the last release that runs on
 * Node 20) always enables the runtime inspector's Network domain and forwards every inspector event
 * to its controller as one HTTP request; a Worker reading 117 MiB of assets makes ~29,000 events
 * (one per 4 KiB received) in a second, workerd runs out of file descriptors, and the failures
 * are themselves logged the same way until the dev server stops answering (measured here:
 * 610,000 "Too many open files" errors, the chat request never answered; upstream
 * cloudflare/workers-sdk#14191, fixed in wrangler 4.100, which needs Node 22). This starts the same
 * dev server through wrangler's own API (`unstable_startWorker`, what `wrangler dev` runs) with the
 * inspector off. The demo model is small enough for plain `npm run dev`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { unstable_startWorker } from "wrangler";
import { assetsIgnored, MAX_ASSET_BYTES } from "./build-site.ts";
import { seedOverHttp } from "./dev-seed.ts";
import { SEED_ADAPTER_DIRS } from "../src/node/seed-adapters.ts";
import { seedName } from "../src/registry/seed.ts";

const USAGE = `usage: npm run dev:worker -- --model <folder under models/> [--port 8787] [--var KEY:VALUE …]
  Serves the Worker locally with models/<folder>/ as its model package (every file at most 25 MiB:
  build big packages with --split-mib 24). The folder must not be listed in models/.assetsignore.
  --var overrides a var of wrangler.toml, as wrangler dev's does (e.g. MEMORY_BUDGET_BYTES:67108864:
  a 135M base's KV cache outgrows the isolate's 16 MiB default).`;

function fail(message: string): never {
  process.stderr.write(`dev:worker: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({ options: { model: { type: "string" }, port: { type: "string", default: "8787" }, var: { type: "string", multiple: true, default: [] }, help: { type: "boolean", short: "h" } }, strict: true });
if (values.help || !values.model) {
  process.stdout.write(USAGE + "\n");
  process.exit(values.help ? 0 : 1);
}
const name = values.model.replace(/^models\//, "").replace(/\/$/, "");
const dir = join("models", name);
if (!existsSync(join(dir, "manifest.json"))) fail(`${dir} holds no model package (manifest.json)`);
if ((await assetsIgnored("models")).has(name)) fail(`${name} is listed in models/.assetsignore, so the Worker's assets would not hold it`);
const big = readdirSync(dir).filter((f) => statSync(join(dir, f)).size > MAX_ASSET_BYTES);
if (big.length) fail(`${big.join(", ")} in ${dir} are over the 25 MiB a static asset may hold; rebuild the package with --split-mib 24`);

const vars = Object.fromEntries(
  values.var.map((kv) => {
    const at = kv.indexOf(":");
    if (at < 1) fail(`--var takes KEY:VALUE, got "${kv}"`);
    return [kv.slice(0, at), { type: "plain_text" as const, value: kv.slice(at + 1) }];
  }),
);

const worker = await unstable_startWorker({
  config: "wrangler.toml",
  bindings: { ...vars, MODEL_PACKAGE: { type: "plain_text", value: name } },
  dev: { inspector: false, server: { port: Number(values.port) }, remote: false },
});
const url = String(await worker.url).replace(/\/+$/, "");
process.stderr.write(`dev:worker: serving models/${name} at ${url} (Ctrl+C stops)\n`);

// The demo's adapters are bundled and the Worker seeds them itself; a bigger base's domain adapters
// (SEED_ADAPTER_DIRS, as `npm start` seeds them) go in through the admin API, on an empty registry.
const devVars = Object.fromEntries([...(existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "").matchAll(/^\s*([A-Z_]+)\s*=\s*"?([^"\n]*)"?\s*$/gm)].map((m) => [m[1], m[2]]));
const seedDir = SEED_ADAPTER_DIRS[(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { name?: string }).name ?? ""];
if (devVars["SEED_DEMO_ADAPTERS"] === "true" && devVars["ADMIN_TOKEN"] && seedDir && seedDir !== SEED_ADAPTER_DIRS["demo"] && existsSync(seedDir)) {
  const quiet = { write: () => true };
  const seeded = await seedOverHttp(url, devVars["ADMIN_TOKEN"], seedDir, { env: {}, stdout: quiet, stderr: process.stderr, fetch });
  process.stderr.write(seeded ? `dev:worker: seeded ${seeded.map((d) => `${d} → ${seedName(d)}`).join(", ")} from ${seedDir}\n` : `dev:worker: the registry already holds adapters or domains; ${seedDir} not seeded\n`);
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    void worker.dispose().then(() => process.exit(0));
  });
