/**
 * Router model selection: trains each candidate setting on data/router/train.jsonl (calibrated on
 * val) and measures it on the hand-written development set data/router/dev.jsonl, never on the
 * realistic set (the final test): accuracy on the three domains, off-topic fallback, non-English
 * messages routed correctly, ECE; then the runtime domains of data/router/dev-domain-*.jsonl
 * (security, careers: 20 examples each registered with `addDomain`) — the share of their held-out
 * messages that get the new domain on top and that are routed to it after its threshold, and how
 * many of the dev set's messages the new domain pulls away. The validation split's accuracy is
 * printed too (it calibrates, so it is not a test). The chosen candidate is DEFAULT_BUILD_SETTINGS.
 *
 *   npx tsx bench/router-candidates.ts [--only name,name]   # prints a markdown table
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { serialiseArtifact } from "../src/router/artifact.ts";
import type { RouterBuildSettings } from "../src/router/build.ts";
import { DEFAULT_BUILD_SETTINGS, buildRouter } from "../src/router/build.ts";
import type { LabelledExample } from "../src/router/dataset.ts";
import { parseLabelledJsonl } from "../src/router/dataset.ts";
import { addDomain } from "../src/router/domains.ts";
import type { RouterEvaluation } from "../src/router/metrics.ts";
import { evaluateRouter } from "../src/router/metrics.ts";
import type { Router } from "../src/router/router.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const base = DEFAULT_BUILD_SETTINGS;
const withFeatures = (features: Partial<RouterBuildSettings["features"]>): RouterBuildSettings => ({ ...base, features: { ...base.features, ...features } });
const withTraining = (training: Partial<RouterBuildSettings["training"]>): RouterBuildSettings => ({ ...base, training: { ...base.training, ...training } });

/** name → settings; "default" is what `npm run train:router` uses. */
export const ROUTER_CANDIDATES: Record<string, RouterBuildSettings> = {
  default: base,
  "no idf": { ...base, idf: false },
  "no idf + runtime settings before (l2 3e-4 threshold 0.6)": { ...base, idf: false, addedDomainThreshold: 0.6, addDomainTraining: { ...base.addDomainTraining, l2: 3e-4 } },
  "l2 1e-4": withTraining({ l2: 1e-4 }),
  "l2 1e-5": withTraining({ l2: 1e-5 }),
  "word weight 0.5": withFeatures({ wordGroupWeight: 0.5 }),
  "dim 2^18": withFeatures({ dim: 1 << 18 }),
};

const percent = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** Share of non-English examples routed where they belong. */
function nonEnglishRouted(evaluation: RouterEvaluation): number {
  const others = Object.entries(evaluation.byLanguage).filter(([lang]) => lang !== "en");
  const count = others.reduce((sum, [, l]) => sum + l.examples, 0);
  return others.reduce((sum, [, l]) => sum + l.routedAccuracy * l.examples, 0) / Math.max(1, count);
}

/** Runtime domains registered one at a time from their examples: top class, routed, dev messages pulled over. */
export function runtimeDomainScores(router: Router, examples: readonly LabelledExample[], heldOut: readonly LabelledExample[], dev: readonly LabelledExample[]): { top: number; routed: number; pulled: number; devNoneFallback: number } {
  const domains = [...new Set(examples.map((e) => e.domain))];
  let top = 0;
  let routed = 0;
  let pulled = 0;
  let noneFallback = 0;
  for (const domain of domains) {
    const added = addDomain(router, domain, examples.filter((e) => e.domain === domain).map((e) => e.text));
    const own = evaluateRouter(added, heldOut.filter((e) => e.domain === domain));
    top += own.accuracy / domains.length;
    routed += own.routedAccuracy / domains.length;
    const onDev = evaluateRouter(added, dev);
    pulled += Object.values(onDev.confusion).reduce((sum, row) => sum + (row[domain] ?? 0), 0) / dev.length / domains.length;
    noneFallback += (onDev.fallbackRate.none ?? 0) / domains.length;
  }
  return { top, routed, pulled, devNoneFallback: noneFallback };
}

function main(): void {
  const { values } = parseArgs({ options: { only: { type: "string" } }, strict: true });
  const read = (name: string) => parseLabelledJsonl(readFileSync(`${repoRoot}data/router/${name}.jsonl`, "utf8"));
  const [train, val, dev, domainExamples, domainHeldOut] = ["train", "val", "dev", "dev-domain-examples", "dev-domain-test"].map(read) as LabelledExample[][];
  const names = values.only ? values.only.split(",") : Object.keys(ROUTER_CANDIDATES);
  console.log(`dev set: ${dev!.length} messages (${dev!.filter((e) => e.lang && e.lang !== "en").length} non-English); training split ${train!.length}, validation split ${val!.length}; runtime domains: ${[...new Set(domainExamples!.map((e) => e.domain))].join(", ")}\n`);
  console.log("| candidate | val accuracy | dev: three domains | dev: off-topic fallback | dev: non-English routed | dev: routed correctly | dev: ECE | runtime domain: top / routed | dev messages with it on top | dev off-topic fallback with it | artifact | train s |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const name of names) {
    const settings = ROUTER_CANDIDATES[name];
    if (!settings) throw new Error(`unknown candidate ${name}`);
    const started = performance.now();
    const { artifact, router, validation } = buildRouter(train!, val!, settings);
    const seconds = (performance.now() - started) / 1000;
    const evaluation = evaluateRouter(router, dev!);
    const runtime = runtimeDomainScores(router, domainExamples!, domainHeldOut!, dev!);
    const bytes = new TextEncoder().encode(serialiseArtifact(artifact)).length;
    console.log(`| ${name} | ${percent(validation.accuracy)} | ${percent(evaluation.domainAccuracy)} | ${percent(evaluation.fallbackRate.none ?? 0)} | ${percent(nonEnglishRouted(evaluation))} | ${percent(evaluation.routedAccuracy)} | ${evaluation.ece.toFixed(3)} | ${percent(runtime.top)} / ${percent(runtime.routed)} | ${percent(runtime.pulled)} | ${percent(runtime.devNoneFallback)} | ${(bytes / 1e6).toFixed(2)} MB | ${seconds.toFixed(1)} |`);
  }
}

main();
