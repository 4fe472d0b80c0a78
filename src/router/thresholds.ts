/**
 * Default per-domain thresholds of the trained domains (domains registered at run time get the
 * artifact's `addedDomainThreshold`, see build.ts; a domain mapping's own `threshold` wins).
 *
 * Rule: the Bayes decision on calibrated probabilities. With p the top domain's probability,
 * routing costs WRONG·(1 − p) in expectation and falling back to the base costs LOST·p, so a
 * domain is routed when p ≥ WRONG / (WRONG + LOST). Both costs are 1: the domain evaluation
 * (bench/domain-eval-smollm2.md) measured a wrong domain's adapter and the base model answering
 * the same share of a domain's fact questions (0 %), so a lost route costs what a wrong one does.
 * Off-topic messages are kept from the adapters by the `none` class, not by the threshold.
 *
 * Until session 12 the thresholds were fitted on the validation split (2·wrong + 1·lost, the
 * median of the cheapest candidates): on template-rendered validation rows that cost curve is
 * flat over 0.6–0.8 and the pick moved by 0.1–0.2 between retrainings, and 0.70–0.85 sent a
 * tenth of the company's own questions to the base.
 */
const WRONG_ROUTE_COST = 1;
const LOST_ROUTE_COST = 1;

/** The probability above which a route is cheaper than the base model: 0.5. */
export const ROUTE_THRESHOLD = WRONG_ROUTE_COST / (WRONG_ROUTE_COST + LOST_ROUTE_COST);

/**
 * The threshold of every trained domain.
 *
 * @example bayesThresholds(["none", "sales"], "none") // → { sales: 0.5 }
 */
export function bayesThresholds(classes: readonly string[], noneClass: string): Record<string, number> {
  return Object.fromEntries(classes.filter((c) => c !== noneClass).map((c) => [c, ROUTE_THRESHOLD]));
}
