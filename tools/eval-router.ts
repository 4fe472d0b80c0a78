/**
 * Evaluates the trained router on a labelled split (the held-out test split by default): accuracy,
 * per-domain precision / recall / F1, the confusion matrix, calibration error and fallback rates.
 *
 *   npx tsx tools/eval-router.ts [--file data/router/test.jsonl] [--artifact models/router/router.json] [--json]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadRouter } from "../src/router/artifact.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";
import { evaluateRouter } from "../src/router/metrics.ts";

const USAGE = `usage: npx tsx tools/eval-router.ts [--file FILE] [--artifact FILE] [--json]
  --file FILE      labelled JSONL {"text","domain"} (default data/router/test.jsonl)
  --artifact FILE  router artifact (default models/router/router.json)
  --json           print the evaluation as one JSON object instead of tables`;

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new Error(`cannot read ${path}`);
  }
}

function main(): void {
  const { values } = parseArgs({ options: { file: { type: "string", default: "data/router/test.jsonl" }, artifact: { type: "string", default: "models/router/router.json" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const router = loadRouter(JSON.parse(readText(values.artifact)));
  let examples;
  try {
    examples = parseLabelledJsonl(readText(values.file));
  } catch (error) {
    throw new Error(`${values.file}: ${(error as Error).message}`);
  }
  if (examples.length === 0) throw new Error(`${values.file} has no examples`);
  const evaluation = evaluateRouter(router, examples);
  if (values.json) {
    console.log(JSON.stringify(evaluation));
    return;
  }
  const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
  console.log(`${values.file}: ${evaluation.examples} examples`);
  console.log(`accuracy (top class): ${percent(evaluation.accuracy)}   routed correctly (after thresholds): ${percent(evaluation.routedAccuracy)}   ECE (10 bins): ${evaluation.ece.toFixed(4)}`);
  console.log("\ndomain       precision  recall     F1  support  fallback");
  for (const [label, m] of Object.entries(evaluation.perClass)) {
    console.log(`${label.padEnd(12)} ${percent(m.precision).padStart(9)} ${percent(m.recall).padStart(7)} ${percent(m.f1).padStart(6)} ${String(m.support).padStart(8)} ${percent(evaluation.fallbackRate[label] ?? 0).padStart(9)}`);
  }
  const labels = Object.keys(evaluation.confusion);
  console.log("\nconfusion (rows: label, columns: top class)");
  console.log(" ".repeat(12) + labels.map((l) => l.padStart(10)).join(""));
  for (const label of labels) console.log(label.padEnd(12) + labels.map((p) => String(evaluation.confusion[label]?.[p] ?? 0).padStart(10)).join(""));
}

try {
  main();
} catch (error) {
  console.error(`eval-router: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
