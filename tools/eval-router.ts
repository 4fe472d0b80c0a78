/**
 * Evaluates the trained router on labelled sets, side by side: by default the template generator's
 * held-out test split and the independently written realistic set. Per set: top-class accuracy,
 * accuracy on the three domains and per domain, how many off-topic messages fall back, how many
 * non-English messages are routed where they should go, calibration error, and the confusion matrix.
 * The default sets are the template test split, the hand-written development set (dev.jsonl, which
 * chose among candidates) and the hand-written realistic set (the final test, never chosen on).
 * Then runtime domains: each of legal (the final test) and the development domains security and
 * careers registered from its first 20 examples with `addDomain`: the share of its held-out
 * messages that get it as top class and that are routed to it after its threshold, and the
 * development set's off-topic fallback and three-domain accuracy with it registered.
 *
 *   npx tsx tools/eval-router.ts [--file data/router/test.jsonl --file …] [--artifact models/router/router.json] [--json]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadRouter } from "../src/router/artifact.ts";
import type { LabelledExample } from "../src/router/dataset.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";
import type { RouterEvaluation } from "../src/router/metrics.ts";
import { evaluateRouter } from "../src/router/metrics.ts";
import type { Router } from "../src/router/router.ts";
import { NONE_CLASS } from "../src/router/router.ts";
import { MIN_DOMAIN_EXAMPLES, addDomain } from "../src/router/domains.ts";

const DEFAULT_FILES = ["data/router/test.jsonl", "data/router/dev.jsonl", "data/router/realistic.jsonl"];

/** Runtime domains: registration examples and held-out messages (a file may hold several domains). */
const RUNTIME_DOMAIN_SETS = [
  { examples: "data/router/legal-examples.jsonl", heldOut: "data/router/legal-test.jsonl" },
  { examples: "data/router/dev-domain-examples.jsonl", heldOut: "data/router/dev-domain-test.jsonl" },
];

const USAGE = `usage: npx tsx tools/eval-router.ts [--file FILE]… [--artifact FILE] [--json]
  --file FILE      labelled JSONL {"text","domain","lang"?,"ambiguous"?}; repeat for several sets
                   (default ${DEFAULT_FILES.join(", ")}, side by side, then runtime domains)
  --artifact FILE  router artifact (default models/router/router.json)
  --json           print {file: evaluation} as one JSON object instead of tables`;

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new Error(`cannot read ${path}`);
  }
}

function readExamples(path: string): LabelledExample[] {
  let examples: LabelledExample[];
  try {
    examples = parseLabelledJsonl(readText(path));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  if (examples.length === 0) throw new Error(`${path} has no examples`);
  return examples;
}

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The share of non-English examples routed where they should go, or "–" when a set has none. */
function nonEnglishRouted(evaluation: RouterEvaluation): string {
  const others = Object.entries(evaluation.byLanguage).filter(([lang]) => lang !== "en");
  const examples = others.reduce((sum, [, l]) => sum + l.examples, 0);
  if (examples === 0) return "–";
  const routed = others.reduce((sum, [, l]) => sum + l.routedAccuracy * l.examples, 0);
  return `${percent(routed / examples)} of ${examples}`;
}

function printSideBySide(files: readonly string[], evaluations: readonly RouterEvaluation[]): void {
  const width = Math.max(24, ...files.map((f) => f.length + 2));
  const row = (label: string, cells: readonly string[]) => console.log(label.padEnd(34) + cells.map((c) => c.padStart(width)).join(""));
  row("", files);
  row("examples", evaluations.map((e) => String(e.examples)));
  row("accuracy (top class, all)", evaluations.map((e) => percent(e.accuracy)));
  row("accuracy on the three domains", evaluations.map((e) => percent(e.domainAccuracy)));
  const domains = [...new Set(evaluations.flatMap((e) => Object.keys(e.perClass)))].filter((d) => d !== NONE_CLASS);
  for (const domain of domains) row(`  ${domain} (recall / precision)`, evaluations.map((e) => (e.perClass[domain]?.support ? `${percent(e.perClass[domain].recall)} / ${percent(e.perClass[domain].precision)}` : "–")));
  row("off-topic falling back", evaluations.map((e) => (e.fallbackRate[NONE_CLASS] === undefined ? "–" : percent(e.fallbackRate[NONE_CLASS]))));
  row("non-English routed correctly", evaluations.map(nonEnglishRouted));
  const languages = [...new Set(evaluations.flatMap((e) => Object.keys(e.byLanguage)))].filter((l) => l !== "en").sort();
  for (const lang of languages) row(`  ${lang}`, evaluations.map((e) => (e.byLanguage[lang] ? `${percent(e.byLanguage[lang].routedAccuracy)} of ${e.byLanguage[lang].examples}` : "–")));
  row("routed correctly (after thresholds)", evaluations.map((e) => percent(e.routedAccuracy)));
  row("ECE (10 bins)", evaluations.map((e) => e.ece.toFixed(4)));
  evaluations.forEach((evaluation, i) => {
    const labels = Object.keys(evaluation.confusion);
    console.log(`\n${files[i]}: confusion (rows: label, columns: top class)`);
    console.log(" ".repeat(12) + labels.map((l) => l.padStart(10)).join(""));
    for (const label of labels) console.log(label.padEnd(12) + labels.map((p) => String(evaluation.confusion[label]?.[p] ?? 0).padStart(10)).join(""));
  });
}

/** One runtime domain registered from its first `MIN_DOMAIN_EXAMPLES` examples, measured on its held-out messages and on the dev set. */
interface RuntimeDomainEvaluation {
  domain: string;
  examples: number;
  heldOut: number;
  topClass: number;
  routed: number;
  devOffTopicFallback: number;
  devDomainAccuracy: number;
}

function evaluateRuntimeDomains(router: Router, dev: readonly LabelledExample[]): RuntimeDomainEvaluation[] {
  return RUNTIME_DOMAIN_SETS.flatMap(({ examples, heldOut }) => {
    const registration = readExamples(examples);
    const held = readExamples(heldOut);
    return [...new Set(registration.map((e) => e.domain))].map((domain) => {
      const texts = registration.filter((e) => e.domain === domain).map((e) => e.text).slice(0, MIN_DOMAIN_EXAMPLES);
      const added = addDomain(router, domain, texts);
      const own = evaluateRouter(added, held.filter((e) => e.domain === domain));
      const onDev = evaluateRouter(added, dev);
      return { domain, examples: texts.length, heldOut: own.examples, topClass: own.accuracy, routed: own.routedAccuracy, devOffTopicFallback: onDev.fallbackRate[NONE_CLASS] ?? 0, devDomainAccuracy: onDev.domainAccuracy };
    });
  });
}

function printRuntimeDomains(router: Router, runtime: readonly RuntimeDomainEvaluation[]): void {
  console.log(`\nruntime domains, each registered alone from its first ${MIN_DOMAIN_EXAMPLES} examples (threshold ${router.addedDomainThreshold}):`);
  console.log("domain".padEnd(12) + "held-out".padStart(10) + "top class".padStart(12) + "routed".padStart(10) + "dev off-topic fallback".padStart(26) + "dev three domains".padStart(20));
  for (const r of runtime) console.log(r.domain.padEnd(12) + String(r.heldOut).padStart(10) + percent(r.topClass).padStart(12) + percent(r.routed).padStart(10) + percent(r.devOffTopicFallback).padStart(26) + percent(r.devDomainAccuracy).padStart(20));
}

function main(): void {
  const { values } = parseArgs({ options: { file: { type: "string", multiple: true }, artifact: { type: "string", default: "models/router/router.json" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const router = loadRouter(JSON.parse(readText(values.artifact)));
  const files = values.file ?? DEFAULT_FILES;
  const evaluations = files.map((file) => evaluateRouter(router, readExamples(file)));
  const runtime = values.file ? [] : evaluateRuntimeDomains(router, readExamples("data/router/dev.jsonl"));
  if (values.json) {
    console.log(JSON.stringify({ ...Object.fromEntries(files.map((file, i) => [file, evaluations[i]])), ...(runtime.length ? { runtimeDomains: runtime } : {}) }));
    return;
  }
  printSideBySide(files, evaluations);
  if (runtime.length) printRuntimeDomains(router, runtime);
}

try {
  main();
} catch (error) {
  console.error(`eval-router: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
