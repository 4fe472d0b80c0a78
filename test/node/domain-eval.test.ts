/**
 * The domain evaluation's CI subset (the full run is `npm run eval:domains`): the Node host serving
 * the SmolLM2 package with the shipped adapters seeded as `npm start` seeds them, reached over real
 * HTTP, asked a fixed handful of held-out questions per domain three ways (`auto`, the domain's
 * adapter by name, the base), greedy. What it pins is what holds for any sound set of adapters:
 * clear-cut questions route to their domain's adapter, `auto` then answers exactly as the named
 * adapter does, and the adapters state their domain's facts more often than the base.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateHeldout, mixDomains, summarizeHeldout, type HeldoutResult } from "../../tools/domain-eval/api-eval.ts";
import { readHeldout, type HeldoutQuestion } from "../../tools/domain-eval/facts.ts";
import { serveDomainAdapters, type ServedDomainAdapters } from "../../tools/domain-eval/served.ts";

const HELDOUT = fileURLToPath(new URL("../../data/chat/heldout/", import.meta.url));
/**
 * Held-out line numbers (0-based) per domain: three different facts each, among the questions the
 * router sends to their domain with confidence ≥ 0.9 (clear-cut ones; the full set's routing
 * accuracy is in bench/domain-eval-smollm2.md). Chosen once, independent of any adapter's answers.
 */
const SUBSET: Record<string, number[]> = { support: [0, 13, 22], sales: [6, 12, 22], technical: [1, 13, 19] };
/** Shorter than the full run's 48: the facts sit in a reply's first sentence, and the base always talks to the limit. */
const MAX_TOKENS = 32;

let served: ServedDomainAdapters;
let results: HeldoutResult[];

beforeAll(async () => {
  served = await serveDomainAdapters({ threads: 2 });
  const byDomain = Object.fromEntries(Object.entries(SUBSET).map(([d, lines]) => [d, lines.map((i) => readHeldout(HELDOUT, d)[i]!)])) as Record<string, HeldoutQuestion[]>;
  results = await evaluateHeldout(served.url, mixDomains(byDomain), { adapters: served.adapters, maxTokens: MAX_TOKENS });
  const s = summarizeHeldout(results, served.adapters);
  console.log(`domain eval CI subset (${results.length} questions): fact accuracy auto/own/base ${JSON.stringify(s.fact_accuracy.all)}, routing ${s.routing.accuracy}`);
}, 1_500_000);

afterAll(async () => {
  await served?.close();
});

describe("domain adapters on SmolLM2 through the Node host's API (CI subset)", () => {
  it("seeds one adapter per domain with held-out questions, as npm start does", () => {
    expect(Object.keys(served.adapters).sort()).toEqual(Object.keys(SUBSET).sort());
  });

  it('model "auto" routes each clear-cut question to its domain\'s adapter', () => {
    const wrong = results.filter((r) => r.routed.domain !== r.domain || r.routed.adapter !== served.adapters[r.domain]);
    expect(wrong.map((r) => `${r.domain}: ${r.question} → ${r.routed.adapter}`)).toEqual([]);
  });

  it('"auto" answers exactly what the same adapter named explicitly answers', () => {
    for (const r of results) expect(r.replies.auto, r.question).toBe(r.replies.own);
  });

  it("the adapters state their own domain's facts more often than the base", () => {
    const own = results.filter((r) => r.correct.own).length;
    const base = results.filter((r) => r.correct.base).length;
    expect(own, `own adapter ${own} vs base ${base} of ${results.length}`).toBeGreaterThan(base);
  });
});
