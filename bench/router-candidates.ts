/**
 * Router model selection: trains each candidate setting on data/router/train.jsonl and measures it
 * on the validation split (never on the realistic set): top-class accuracy, accuracy on the three
 * domains, off-topic fallback, non-English messages routed correctly, ECE after calibration,
 * artifact size and training time. The chosen candidate is DEFAULT_BUILD_SETTINGS.
 *
 *   npx tsx bench/router-candidates.ts [--only name,name]   # prints a markdown table
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { serialiseArtifact } from "../src/router/artifact.ts";
import type { RouterBuildSettings } from "../src/router/build.ts";
import { DEFAULT_BUILD_SETTINGS, buildRouter } from "../src/router/build.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";
import { evaluateRouter } from "../src/router/metrics.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const base = DEFAULT_BUILD_SETTINGS;
const withFeatures = (features: Partial<RouterBuildSettings["features"]>): RouterBuildSettings => ({ ...base, features: { ...base.features, ...features } });
const withTraining = (training: Partial<RouterBuildSettings["training"]>): RouterBuildSettings => ({ ...base, training: { ...base.training, ...training } });

/** name → settings; "default" is what `npm run train:router` uses. */
export const ROUTER_CANDIDATES: Record<string, RouterBuildSettings> = {
  default: base,
  "before #14: word 0.25 + char 3-5 + 300 it": { ...withFeatures({ dim: 1 << 16, wordGroupWeight: 0.25, charNgramMax: 5 }), training: { ...base.training, iterations: 300 } },
  "dim 2^16": withFeatures({ dim: 1 << 16 }),
  "dim 2^18": withFeatures({ dim: 1 << 18 }),
  "word weight 0.5": withFeatures({ wordGroupWeight: 0.5 }),
  "word weight 2": withFeatures({ wordGroupWeight: 2 }),
  "char 3-5": withFeatures({ charNgramMax: 5 }),
  "char 2-6": withFeatures({ charNgramMin: 2 }),
  "l2 1e-5": withTraining({ l2: 1e-5 }),
  "l2 1e-4": withTraining({ l2: 1e-4 }),
  "300 iterations": withTraining({ iterations: 300 }),
  "1200 iterations": withTraining({ iterations: 1200 }),
};

function main(): void {
  const { values } = parseArgs({ options: { only: { type: "string" } }, strict: true });
  const read = (name: string) => parseLabelledJsonl(readFileSync(`${repoRoot}data/router/${name}.jsonl`, "utf8"));
  const train = read("train");
  const val = read("val");
  const names = values.only ? values.only.split(",") : Object.keys(ROUTER_CANDIDATES);
  const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(`validation split: ${val.length} messages (${val.filter((e) => e.lang && e.lang !== "en").length} non-English); training split: ${train.length}\n`);
  console.log("| candidate | accuracy | three domains | off-topic fallback | non-English routed | ECE | artifact | train s |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const name of names) {
    const settings = ROUTER_CANDIDATES[name];
    if (!settings) throw new Error(`unknown candidate ${name}`);
    const started = performance.now();
    const { artifact, router, validation } = buildRouter(train, val, settings);
    const seconds = (performance.now() - started) / 1000;
    const evaluation = evaluateRouter(router, val);
    const others = Object.entries(evaluation.byLanguage).filter(([lang]) => lang !== "en");
    const otherCount = others.reduce((sum, [, l]) => sum + l.examples, 0);
    const otherRouted = others.reduce((sum, [, l]) => sum + l.routedAccuracy * l.examples, 0) / Math.max(1, otherCount);
    const bytes = new TextEncoder().encode(serialiseArtifact(artifact)).length;
    console.log(`| ${name} | ${percent(validation.accuracy)} | ${percent(evaluation.domainAccuracy)} | ${percent(evaluation.fallbackRate.none ?? 0)} | ${percent(otherRouted)} | ${validation.ece.toFixed(4)} | ${(bytes / 1e6).toFixed(2)} MB | ${seconds.toFixed(1)} |`);
  }
}

main();
