/**
 * `npm run eval:domains`: one report on the SmolLM2 domain adapters, bench/domain-eval-smollm2.{json,md}.
 * It runs training/eval_domains.py (transformers + PEFT: held-out perplexity matrix, fact accuracy;
 * each config's part cached in bench/domain-eval-smollm2.parts/ and reused while its inputs are
 * unchanged), and meanwhile asks every held-out question through the HTTP API of the Node host
 * served in this process (tools/domain-eval/served.ts): `auto`, the true domain's adapter by name,
 * the base; then the weighted compositions of data/chat/composed.jsonl. `--help` for options.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SEED_ADAPTER_DIRS } from "../src/node/seed-adapters.ts";
import { defaultThreads } from "../src/runtime/node-backend.ts";
import { evaluateComposed, evaluateHeldout, mixDomains, readComposed, summarizeComposed, summarizeHeldout } from "./domain-eval/api-eval.ts";
import { openReplyCache } from "./domain-eval/reply-cache.ts";
import { heldoutDomains, readHeldout, type HeldoutQuestion } from "./domain-eval/facts.ts";
import { renderDomainReport, type AdapterRecipe, type DomainEvalReport, type PythonReport } from "./domain-eval/report.ts";
import { serveDomainAdapters } from "./domain-eval/served.ts";
import { startStep } from "./progress.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const ADAPTERS = SEED_ADAPTER_DIRS["smollm2-135m"]!;
const HELDOUT = join(REPO, "data/chat/heldout");
const COMPOSED = join(REPO, "data/chat/composed.jsonl");

const HELP = `Usage: npm run eval:domains -- [options]

Evaluates the domain adapters in ${ADAPTERS}/ (what \`npm start\` seeds for SmolLM2) and writes
one report, <out>.json and <out>.md:
  - training/eval_domains.py (transformers + PEFT, fp32): held-out perplexity of the base and each
    adapter on each domain, greedy fact accuracy of base / own / wrong adapter; each config's
    result is cached in <parts>/ and reused while its inputs (base, adapter sha256, data, limit,
    reply length) are unchanged, so a new adapter re-runs only itself;
  - the Node host's HTTP API (models/smollm2-135m, int4 exact, built first if missing, registry seeded
    as \`npm start\` seeds it): every held-out question, all domains mixed, as model "auto", as its
    domain's adapter by name and as "base"; routing accuracy; the equal-weight composition of two
    domains' adapters on the questions of data/chat/composed.jsonl.
The Python part needs the training virtualenv (\`bash training/ci.sh\` creates .venv once, or set
LORA_EDGE_VENV). Both parts run at the same time.

Options
  --limit <n>          first n held-out questions per domain (default: all; then --out defaults to
                       bench/out/domain-eval-smollm2-limit<n>)
  --max-tokens <n>     greedy reply length, Python and API alike (default 48)
  --threads <n>        onnxruntime threads of the served model (default ${defaultThreads()} here)
  --torch-threads <n>  torch threads of the Python part (default 1)
  --concurrency <n>    questions in flight at once (default 1); above 1 the host batches decode
                       steps (npm start's --batching): faster on a busy machine, and its tokens
                       equal one-by-one runs' up to float32 rounding
  --out <prefix>       report path without extension (default bench/domain-eval-smollm2)
  --parts <dir>        the Python part's cache (default <out>.parts)
  -h, --help           this text
`;

function fail(message: string): never {
  process.stderr.write(`eval:domains: ${message}\n`);
  process.exit(1);
}

function parse() {
  let values;
  try {
    values = parseArgs({
      options: {
        limit: { type: "string" }, "max-tokens": { type: "string", default: "48" }, threads: { type: "string" }, "torch-threads": { type: "string", default: "1" }, concurrency: { type: "string", default: "1" },
        out: { type: "string" }, parts: { type: "string" }, help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, not "${v}"`);
    return n;
  };
  const limit = int("limit", values.limit);
  const out = values.out ?? (limit ? `bench/out/domain-eval-smollm2-limit${limit}` : "bench/domain-eval-smollm2");
  return {
    limit, out, parts: values.parts ?? `${out}.parts`,
    maxTokens: int("max-tokens", values["max-tokens"])!, threads: int("threads", values.threads) ?? defaultThreads(), torchThreads: int("torch-threads", values["torch-threads"])!, concurrency: int("concurrency", values.concurrency)!,
  };
}

/** The training virtualenv's python: $LORA_EDGE_VENV, else the repository's .venv (training/ci.sh). */
function venvPython(): string {
  const venv = process.env["LORA_EDGE_VENV"] || join(REPO, ".venv");
  const python = join(venv, "bin", "python");
  if (!existsSync(python)) fail(`no Python virtualenv at ${venv}: run \`bash training/ci.sh\` once (it creates .venv with torch, transformers and PEFT) or set LORA_EDGE_VENV`);
  return python;
}

/** The base every adapter was trained on (`base_model_name_or_path`): one for all, or the eval cannot compare them. */
function adapterBase(domains: readonly string[]): string {
  const bases = new Set(domains.map((d) => (JSON.parse(readFileSync(join(REPO, ADAPTERS, d, "adapter_config.json"), "utf8")) as { base_model_name_or_path: string }).base_model_name_or_path));
  if (bases.size !== 1) fail(`the adapters in ${ADAPTERS} name different bases: ${[...bases].join(", ")}`);
  return [...bases][0]!;
}

function recipe(domain: string): AdapterRecipe {
  const config = JSON.parse(readFileSync(join(REPO, ADAPTERS, domain, "adapter_config.json"), "utf8")) as { r: number; lora_alpha: number; layers_to_transform: number[] | null; target_modules: string[] };
  const metricsPath = join(REPO, ADAPTERS, domain, "metrics.json");
  const metrics = existsSync(metricsPath) ? (JSON.parse(readFileSync(metricsPath, "utf8")) as { training?: { steps?: number; epochs?: number } }) : {};
  return {
    r: config.r, alpha: config.lora_alpha, layers: config.layers_to_transform ?? "all", targets: config.target_modules,
    ...(metrics.training?.steps !== undefined ? { steps: metrics.training.steps } : {}), ...(metrics.training?.epochs !== undefined ? { epochs: metrics.training.epochs } : {}),
  };
}

/** The Python child, stopped if this process fails first (its finished parts stay cached). */
let pythonChild: ReturnType<typeof spawn> | undefined;
process.on("exit", () => pythonChild?.exitCode === null && pythonChild.kill());

/** training/eval_domains.py with the parts cache; its report, read back. */
function runPython(o: ReturnType<typeof parse>, base: string): Promise<PythonReport> {
  const tmp = mkdtempSync(join(tmpdir(), "eval-domains-"));
  const out = join(tmp, "python.json");
  const args = [join(REPO, "training/eval_domains.py"), "--model", base, "--adapters", join(REPO, ADAPTERS), "--parts", o.parts, "--max-new-tokens", String(o.maxTokens), "--threads", String(o.torchThreads), "--out", out, ...(o.limit ? ["--limit", String(o.limit)] : [])];
  process.stderr.write(`eval:domains: python ${args.map((a) => a.replace(REPO, "")).join(" ")}\n`);
  const child = (pythonChild = spawn(venvPython(), args, {
    cwd: REPO, stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, OMP_NUM_THREADS: String(o.torchThreads), TOKENIZERS_PARALLELISM: "false", HF_HUB_OFFLINE: "1", PYTHONDONTWRITEBYTECODE: "1" },
  }));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code !== 0 || !existsSync(out)) return reject(new Error(`training/eval_domains.py failed (exit ${code ?? signal}, see above)`));
      const report = JSON.parse(readFileSync(out, "utf8")) as PythonReport;
      rmSync(tmp, { recursive: true, force: true });
      resolve(report);
    });
  });
}

/** A step's progress bar, plus a line every 10 items where stderr is no terminal (logs of long runs). */
function logged(bar: (done: number, total: number) => void) {
  return (done: number, total: number) => {
    bar(done, total);
    if (!process.stderr.isTTY && (done % 10 === 0 || done === total)) process.stderr.write(`  ${done}/${total}\n`);
  };
}

async function main() {
  const o = parse();
  const started = new Date();
  const domains = heldoutDomains(HELDOUT).filter((d) => existsSync(join(REPO, ADAPTERS, d, "adapter_model.safetensors")));
  if (!domains.length) fail(`no adapter in ${ADAPTERS} has held-out questions in data/chat/heldout`);
  const byDomain = Object.fromEntries(domains.map((d) => [d, readHeldout(HELDOUT, d).slice(0, o.limit)])) as Record<string, HeldoutQuestion[]>;
  const composed = readComposed(COMPOSED, domains.flatMap((d) => readHeldout(HELDOUT, d)));
  const python = runPython(o, adapterBase(domains));
  python.catch(() => {}); // awaited below; the API part runs meanwhile

  const serve = startStep("serving models/smollm2-135m with the seeded adapters (Node host, in process)");
  const served = await serveDomainAdapters({ threads: o.threads, batching: o.concurrency > 1 });
  serve.done(Object.entries(served.adapters).map(([d, a]) => `${d} → ${a}`).join(", "));
  const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
  const cache = openReplyCache(resolve(REPO, o.parts, "api-replies.json"), {
    model_hash: served.modelHash, max_tokens: o.maxTokens, router_sha256: sha256(join(REPO, "models/router/router.json")),
    adapters: Object.fromEntries(Object.entries(served.adapters).map(([d, name]) => [name, sha256(join(REPO, served.adapterDir, d, "adapter_model.safetensors"))])),
  });
  let api: DomainEvalReport["api"];
  let composition: DomainEvalReport["composition"];
  try {
    const questions = mixDomains(byDomain);
    const t0 = performance.now();
    const ask = startStep(`${questions.length} held-out questions × (auto, own adapter, base) through ${served.url}`);
    const results = await evaluateHeldout(served.url, questions, { adapters: served.adapters, maxTokens: o.maxTokens, concurrency: o.concurrency, cache, progress: logged(ask.progress) });
    ask.done();
    const seconds = (performance.now() - t0) / 1000;
    const mix = startStep(`${composed.length} two-sheet questions × (composition, each adapter, auto, base)`);
    const composedResults = await evaluateComposed(served.url, composed, { adapters: served.adapters, maxTokens: o.maxTokens, concurrency: o.concurrency, cache, progress: logged(mix.progress) });
    mix.done();
    api = { served: { base: served.base, format: served.format, adapters: served.adapters, threads: o.threads, concurrency: o.concurrency }, seconds, summary: summarizeHeldout(results, served.adapters), same_as_peft: { own: 0, base: 0, questions: 0 }, questions: results };
    composition = { summary: summarizeComposed(composedResults), questions: composedResults };
  } finally {
    await served.close();
  }
  process.stderr.write("eval:domains: waiting for training/eval_domains.py\n");
  const py = await python.catch((e: Error) => fail(e.message));
  const peft = new Map(py.questions.map((q) => [`${q.domain}\n${q.question}`, q.replies]));
  for (const q of api.questions) {
    const p = peft.get(`${q.domain}\n${q.question}`);
    if (!p) continue;
    api.same_as_peft.questions++;
    api.same_as_peft.own += +(p.own === q.replies.own);
    api.same_as_peft.base += +(p.base === q.replies.base);
  }
  const report: DomainEvalReport = {
    date: started.toISOString().replace(/:\d\d\.\d+Z$/, " UTC").replace("T", " "),
    machine: `${process.arch} ${cpus()[0]?.model.trim() ?? "CPU"}, ${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} at the end), Node ${process.version}`,
    command: `npm run eval:domains${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    max_tokens: o.maxTokens,
    recipes: Object.fromEntries(domains.map((d) => [d, recipe(d)])),
    python: py,
    api,
    composition,
  };
  mkdirSync(dirname(resolve(REPO, o.out)), { recursive: true });
  writeFileSync(resolve(REPO, `${o.out}.json`), JSON.stringify(report, null, 1) + "\n");
  writeFileSync(resolve(REPO, `${o.out}.md`), renderDomainReport(report) + "\n");
  const s = api.summary;
  process.stderr.write(
    `eval:domains: wrote ${o.out}.json and .md — API fact accuracy auto ${(s.fact_accuracy.all!.auto * 100).toFixed(1)} %, own ${(s.fact_accuracy.all!.own * 100).toFixed(1)} %, base ${(s.fact_accuracy.all!.base * 100).toFixed(1)} %; routing ${(s.routing.accuracy * 100).toFixed(1)} %\n`,
  );
}

main().catch((e: Error) => fail(e.stack ?? e.message));
