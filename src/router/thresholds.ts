/**
 * Default per-domain thresholds of the trained domains, chosen on the validation split (domains
 * registered at run time get the artifact's `addedDomainThreshold`, see build.ts).
 *
 * Rule: for each routable domain d and each candidate t in {0.30, 0.35, …, 0.95}, count on the
 * validation set
 *   - wrong routes: examples of another class (including `none`) whose top class is d with p ≥ t, and
 *   - lost routes: examples of d whose top class is d but p < t (they fall back to the base model),
 * cost(t) = 2·wrong + 1·lost (sending a refund to the sales adapter is worse than answering it with
 * the base model). The threshold is the median of the candidates with the lowest cost (the lower
 * median on an even count), which keeps it away from the edge of the zero-cost range.
 */
import { argmax } from "./model.ts";

export const THRESHOLD_CANDIDATES: readonly number[] = Array.from({ length: 14 }, (_, i) => Math.round((0.3 + 0.05 * i) * 100) / 100);
const WRONG_ROUTE_COST = 2;
const LOST_ROUTE_COST = 1;

/**
 * Per-domain thresholds from validation probabilities (see the rule above).
 *
 * @example chooseThresholds(["none","sales"], "none", valProbabilities, valLabels) // → { sales: 0.55 }
 */
export function chooseThresholds(classes: readonly string[], noneClass: string, probabilities: readonly Float64Array[], labels: Int32Array): Record<string, number> {
  const thresholds: Record<string, number> = {};
  classes.forEach((domain, d) => {
    if (domain === noneClass) return;
    const costs = THRESHOLD_CANDIDATES.map((t) => {
      let cost = 0;
      probabilities.forEach((p, i) => {
        if (argmax(p) !== d) return;
        const confident = (p[d] as number) >= t;
        if (labels[i] !== d && confident) cost += WRONG_ROUTE_COST;
        if (labels[i] === d && !confident) cost += LOST_ROUTE_COST;
      });
      return cost;
    });
    const best = Math.min(...costs);
    const tied = THRESHOLD_CANDIDATES.filter((_, i) => costs[i] === best);
    thresholds[domain] = tied[Math.floor((tied.length - 1) / 2)] as number;
  });
  return thresholds;
}
