/**
 * Trains the domain router from data/router/{train,val}.jsonl and writes models/router/router.json.
 *
 *   npx tsx tools/train-router.ts [--data data/router] [--out models/router/router.json]
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { serialiseArtifact } from "../src/router/artifact.ts";
import { buildRouter } from "../src/router/build.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";

const USAGE = `usage: npx tsx tools/train-router.ts [--data DIR] [--out FILE]
  Trains the domain router (deterministic: same data → same bytes) and prints validation
  accuracy, the fitted temperature, the chosen per-domain thresholds and calibration error.
  --data DIR   folder with train.jsonl and val.jsonl (default data/router)
  --out FILE   artifact to write (default models/router/router.json)`;

function readSplit(path: string) {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`cannot read ${path}`);
  }
  try {
    return parseLabelledJsonl(text);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

function main(): void {
  const { values } = parseArgs({ options: { data: { type: "string", default: "data/router" }, out: { type: "string", default: "models/router/router.json" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const train = readSplit(join(values.data, "train.jsonl"));
  const val = readSplit(join(values.data, "val.jsonl"));
  console.error(`training on ${train.length} examples, calibrating on ${val.length}…`);
  const started = performance.now();
  const { artifact, validation } = buildRouter(train, val);
  const seconds = (performance.now() - started) / 1000;
  const text = serialiseArtifact(artifact);
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, text);
  console.log(`wrote ${values.out} (${new TextEncoder().encode(text).length} bytes) in ${seconds.toFixed(2)} s`);
  console.log(`classes: ${artifact.classes.join(", ")}`);
  console.log(`validation accuracy: ${(validation.accuracy * 100).toFixed(1)}%`);
  console.log(`temperature: ${validation.temperature.toFixed(3)}  ECE (10 bins): ${validation.eceBeforeCalibration.toFixed(4)} before → ${validation.ece.toFixed(4)} after calibration`);
  console.log(`thresholds: ${Object.entries(validation.thresholds).map(([d, t]) => `${d} ${t.toFixed(2)}`).join(", ")}; runtime-added domains ${artifact.addedDomainThreshold.toFixed(2)}`);
}

try {
  main();
} catch (error) {
  console.error(`train-router: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
