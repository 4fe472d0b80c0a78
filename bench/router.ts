/**
 * Router benchmark: per-message classification latency (p50/p99, warm, many messages) in Node and
 * inside workerd, artifact bytes, artifact load time, training time and runtime domain registration
 * time. The messages are the template test split and the realistic set (which has the long pasted
 * stack traces), interleaved.
 *
 * With `--baseline FILE` (another router artifact, e.g. `git show <commit>:models/router/router.json`)
 * the two routers classify the same messages alternately in one process, and the ratio of their
 * Node p50s is reported too.
 *
 *   npx tsx bench/router.ts [--baseline FILE]   # prints one JSON object
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadRouter } from "../src/router/artifact.ts";
import { buildRouter } from "../src/router/build.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";
import { routeText } from "../src/router/decision.ts";
import { addDomain } from "../src/router/domains.ts";
import type { Router } from "../src/router/router.ts";
import { routerInWorkerd } from "./worker.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const MEASURED_ROUTES = 20_000;
const WARMUP_ROUTES = 3_000;

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/**
 * Runs the router benchmark; keys are `router_*` metric names, times in ms unless named `_s`.
 *
 * @example const metrics = await benchRouter() // { router_p50_ms: 0.03, router_artifact_bytes: 370366, … }
 */
export async function benchRouter(baselineArtifactPath?: string): Promise<Record<string, number>> {
  const read = (path: string) => readFileSync(repoRoot + path, "utf8");
  const artifactText = read("models/router/router.json");
  const loadStarted = performance.now();
  const router = loadRouter(JSON.parse(artifactText));
  const loadMs = performance.now() - loadStarted;

  const train = parseLabelledJsonl(read("data/router/train.jsonl"));
  const val = parseLabelledJsonl(read("data/router/val.jsonl"));
  const test = parseLabelledJsonl(read("data/router/test.jsonl")).map((e) => e.text);
  const realistic = parseLabelledJsonl(read("data/router/realistic.jsonl")).map((e) => e.text);
  const messages = test.flatMap((text, i) => (i < realistic.length ? [text, realistic[i] as string] : [text]));

  // latency: warm up the JIT, then time every call over many different messages
  for (let i = 0; i < WARMUP_ROUTES; i++) routeText(router, messages[i % messages.length] as string);
  const times = new Float64Array(MEASURED_ROUTES);
  for (let i = 0; i < MEASURED_ROUTES; i++) {
    const text = messages[i % messages.length] as string;
    const started = performance.now();
    routeText(router, text);
    times[i] = performance.now() - started;
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort();
  const baseline = baselineArtifactPath ? interleavedWithBaseline(router, loadRouter(JSON.parse(readFileSync(baselineArtifactPath, "utf8"))), messages) : {};

  const long = "my order never arrived and nobody answers my emails. ".repeat(2000); // ~100 KB
  const longStarted = performance.now();
  for (let i = 0; i < 20; i++) routeText(router, long);
  const longMs = (performance.now() - longStarted) / 20;

  // CPU time beside wall time: on a shared machine the wall clock also counts other people's work
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const { user, system } = process.cpuUsage(since);
    return (user + system) / 1000;
  };
  const trainStarted = performance.now();
  const trainCpu = process.cpuUsage();
  buildRouter(train, val);
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const trainCpuSeconds = cpuMs(trainCpu) / 1000;

  const workerd = await routerInWorkerd(messages.slice(0, 100), 200, baselineArtifactPath ? resolve(baselineArtifactPath) : undefined);

  const legal = parseLabelledJsonl(read("data/router/legal-examples.jsonl")).map((e) => e.text);
  // the first registration also extracts the replay texts' features (memoised for the second)
  const addStarted = performance.now();
  const addCpu = process.cpuUsage();
  addDomain(router, "legal", legal.slice(0, 20));
  const addDomain20Ms = performance.now() - addStarted;
  const addDomain20CpuMs = cpuMs(addCpu);
  const add50Started = performance.now();
  const add50Cpu = process.cpuUsage();
  addDomain(router, "legal", legal);
  const addDomain50Ms = performance.now() - add50Started;
  const addDomain50CpuMs = cpuMs(add50Cpu);

  return {
    router_p50_ms: percentile(times, 0.5),
    router_p99_ms: percentile(times, 0.99),
    router_mean_ms: total / MEASURED_ROUTES,
    router_100kb_message_ms: longMs,
    router_classify_workerd_p50_ms: workerd.p50,
    router_classify_workerd_p99_ms: workerd.p99,
    router_artifact_bytes: new TextEncoder().encode(artifactText).length,
    router_artifact_load_ms: loadMs,
    router_train_s: trainSeconds,
    router_train_cpu_s: trainCpuSeconds,
    router_add_domain_20_examples_ms: addDomain20Ms,
    router_add_domain_20_examples_cpu_ms: addDomain20CpuMs,
    router_add_domain_50_examples_ms: addDomain50Ms,
    router_add_domain_50_examples_cpu_ms: addDomain50CpuMs,
    ...baseline,
    ...(workerd.baselineP50 === undefined ? {} : { router_baseline_classify_workerd_p50_ms: workerd.baselineP50, router_vs_baseline_workerd_p50_ratio: workerd.p50 / workerd.baselineP50 }),
  };
}

/** Both routers on every message, alternating which goes first, warm; p50 of each and their ratio. */
function interleavedWithBaseline(router: Router, baseline: Router, messages: readonly string[]): Record<string, number> {
  for (let i = 0; i < WARMUP_ROUTES; i++) {
    routeText(router, messages[i % messages.length] as string);
    routeText(baseline, messages[i % messages.length] as string);
  }
  const mine = new Float64Array(MEASURED_ROUTES);
  const theirs = new Float64Array(MEASURED_ROUTES);
  const timed = (r: Router, text: string): number => {
    const started = performance.now();
    routeText(r, text);
    return performance.now() - started;
  };
  for (let i = 0; i < MEASURED_ROUTES; i++) {
    const text = messages[i % messages.length] as string;
    if (i % 2 === 0) {
      mine[i] = timed(router, text);
      theirs[i] = timed(baseline, text);
    } else {
      theirs[i] = timed(baseline, text);
      mine[i] = timed(router, text);
    }
  }
  mine.sort();
  theirs.sort();
  return { router_interleaved_p50_ms: percentile(mine, 0.5), router_baseline_interleaved_p50_ms: percentile(theirs, 0.5), router_vs_baseline_p50_ratio: percentile(mine, 0.5) / percentile(theirs, 0.5) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { baseline: { type: "string" } }, strict: true });
  benchRouter(values.baseline).then(
    (metrics) => console.log(JSON.stringify(metrics, null, 1)),
    (error: unknown) => {
      console.error(`bench/router: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
