/**
 * The packages the Node host serves by default — SmolLM2-135M-Instruct in the GGUF's own 4-bit
 * blocks (exact; laid out for onnxruntime-node), and a 4-bit build for browsers — and the one way
 * they are made: `npm run model:smollm2`, which fetches the GGUF, builds what is missing or stale
 * by its build stamp (the GGUF's hash, the builder's sources, the options) and otherwise only says
 * each package is up to date (about a second). A checkout that has the builder runs it on every
 * start, so a package left from an older builder is never served; one that has not (the
 * container's serving stage: no tools/) must hold the packages already.
 *
 * @example ensureDefaultPackages(["models/smollm2-135m"], repoRoot) // → { ok: true }
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const DEFAULT_MODEL = "models/smollm2-135m";
/** `npm run model:smollm2`'s second package: the GGUF's own 4-bit blocks, for browsers (the same base identity). */
export const DEFAULT_BROWSER_MODEL = "models/smollm2-135m-int4";

const DEMO = "serve the demo instead: npm start -- --model models/demo";
/** What `npm run model:smollm2` runs. */
const BUILDER = "tools/model-smollm2.ts";

/**
 * Make sure every folder of `dirs` holds a package: the default ones are built or refreshed when
 * this checkout (`repo`) can, any other must be there already. Progress goes to stderr.
 */
export function ensureDefaultPackages(dirs: ReadonlyArray<string | undefined>, repo: string): { ok: true } | { ok: false; reason: string } {
  const wanted = dirs.filter((d): d is string => d !== undefined);
  const built = (d: string) => existsSync(join(d, "manifest.json"));
  const isDefault = (d: string) => [DEFAULT_MODEL, DEFAULT_BROWSER_MODEL].some((x) => resolve(repo, x) === resolve(d));
  const other = wanted.find((d) => !isDefault(d) && !built(d));
  if (other) return { ok: false, reason: `${other} holds no model package (manifest.json); build one with \`npm run build-model\`, or ${DEMO}` };
  if (!wanted.some(isDefault)) return { ok: true };
  const missing = wanted.filter((d) => !built(d));
  // the container's serving stage has package.json (with the script) but not the builder in tools/
  const scripts = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};
  const canBuild = Boolean(scripts["model:smollm2"]) && existsSync(join(repo, BUILDER));
  if (!canBuild) return missing.length ? { ok: false, reason: `cannot build ${missing.join(" and ")}: this checkout has no \`model:smollm2\` builder (${BUILDER}); ${DEMO}` } : { ok: true };
  if (missing.length) process.stderr.write(`lora-edge: ${missing.join(" and ")} missing; building with \`npm run model:smollm2\` (once; cached afterwards)\n`);
  // the build's JSON summary (stdout) is not for this caller; its progress (stderr) is
  const run = spawnSync("npm", ["run", "--silent", "model:smollm2"], { cwd: repo, stdio: ["ignore", "ignore", "inherit"] });
  if (run.status !== 0 || !wanted.every(built)) return { ok: false, reason: `cannot build or refresh ${wanted.filter(isDefault).join(" and ")}: \`npm run model:smollm2\` failed (exit ${run.status ?? run.signal}, see above); ${DEMO}` };
  return { ok: true };
}
