/**
 * Evaluates the trained router on labelled sets, side by side: by default the template generator's
 * held-out test split and the independently written realistic set. Per set: top-class accuracy,
 * accuracy on the three domains and per domain, how many off-topic messages fall back, how many
 * non-English messages are routed where they should go, calibration error, and the confusion matrix.
 *
 *   npx tsx tools/eval-router.ts [--file data/router/test.jsonl --file data/router/realistic.jsonl] [--artifact models/router/router.json] [--json]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadRouter } from "../src/router/artifact.ts";
import type { LabelledExample } from "../src/router/dataset.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";
import type { RouterEvaluation } from "../src/router/metrics.ts";
import { evaluateRouter } from "../src/router/metrics.ts";
import { NONE_CLASS } from "../src/router/router.ts";

const DEFAULT_FILES = ["data/router/test.jsonl", "data/router/realistic.jsonl"];

const USAGE = `usage: npx tsx tools/eval-router.ts [--file FILE]… [--artifact FILE] [--json]
  --file FILE      labelled JSONL {"text","domain","lang"?,"ambiguous"?}; repeat for several sets
                   (default ${DEFAULT_FILES.join(" and ")}, side by side)
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

function main(): void {
  const { values } = parseArgs({ options: { file: { type: "string", multiple: true }, artifact: { type: "string", default: "models/router/router.json" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const router = loadRouter(JSON.parse(readText(values.artifact)));
  const files = values.file ?? DEFAULT_FILES;
  const evaluations = files.map((file) => evaluateRouter(router, readExamples(file)));
  if (values.json) {
    console.log(JSON.stringify(Object.fromEntries(files.map((file, i) => [file, evaluations[i]]))));
    return;
  }
  printSideBySide(files, evaluations);
}

try {
  main();
} catch (error) {
  console.error(`eval-router: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
