/**
 * Domains registered at run time. `addDomain` keeps every existing weight row and fits one new row
 * by softmax regression: the new examples against the router's replay texts (the validation split
 * stored in the artifact, plus earlier registrations), with the existing rows' logits on each text
 * as fixed offsets. The replay texts are held-out data on purpose: on its own training texts the
 * model is so sure that they never push back, and a row fitted against them grabbed held-out texts
 * of the old domains.
 *
 * Twenty messages are few for a linear model over n-grams: fitted on them alone, the row learnt the
 * handful of n-grams that separate exactly those messages and routed about half of a new domain's
 * unseen messages. So both sides are augmented (`augment.ts`): each example also counts as
 * `EXAMPLE_VARIANTS` copies with about a third of its words dropped, which spreads the row's weight
 * over all the domain's words; each replay text also as `REPLAY_VARIANTS` such copies and as its
 * sentences one by one, so that fragments of other domains' messages push back too (without them,
 * short messages and the greetings and asides every domain's messages carry leaned to the new
 * domain). The fewer its examples, the more the new domain weighs in the loss
 * (`MAX_NEW_DOMAIN_WEIGHT`): with twenty, as much as ten trained classes. That push is what
 * gets the row's weights out of the L2 prior; with the features weighted by inverse document
 * frequency (`features.ts`) it lands on the domain's own words rather than on "do you" or "is
 * there", so it pulls few other messages over (chosen on the development domains security and
 * careers, see bench/router-candidates.ts and README).
 *
 * Pure and deterministic (fixed order, variants seeded by their text), no Node APIs, about half a
 * second of CPU: a Worker replays the registrations stored in D1, in their stored order, when an
 * isolate starts.
 */
import { LoraEdgeError } from "../errors.ts";
import { sentenceFragments, wordDropoutVariants } from "./augment.ts";
import { AUTO_MODEL } from "./decision.ts";
import type { SparseVector } from "./features.ts";
import { extractFeatures } from "./features.ts";
import { computeLogits } from "./model.ts";
import type { Router } from "./router.ts";
import { NONE_CLASS } from "./router.ts";
import { fitSoftmaxRegression, zeroModel } from "./train.ts";

export const MIN_DOMAIN_EXAMPLES = 20;
export const MAX_DOMAIN_EXAMPLES = 1000;
const DOMAIN_NAME = /^[a-z][a-z0-9_-]{0,47}$/;

/** Word-dropout variants per registration example, and per replay text, and the share of words dropped. */
const EXAMPLE_VARIANTS = 6;
const REPLAY_VARIANTS = 1;
const WORD_DROP = 0.35;
/**
 * The new domain's total weight in the loss, in units of an average existing class's:
 * `MAX_NEW_DOMAIN_WEIGHT · (MIN_DOMAIN_EXAMPLES / examples)²`, at least 1. Twenty examples weigh 10
 * classes, forty 2.5, sixty-four or more one: the push a handful of examples needs would, with more
 * of them, pull other domains' messages over (a linear 200 / examples cost the template test split
 * 2.3–2.9 points with 35–40 examples of the development domains, the square 0.8–2.5).
 */
const MAX_NEW_DOMAIN_WEIGHT = 10;

/**
 * Returns a router that also routes `domain`, learnt from `examples` (≥ 20 distinct non-blank texts).
 * Registering a name that exists replaces it (PUT semantics), trained domains included; `none` and
 * `auto` are reserved. The new domain gets the artifact's `addedDomainThreshold`. Throws a 400
 * `LoraEdgeError` (`invalid_domain`, `reserved_domain`, `too_few_examples`, `too_many_examples`).
 *
 * @example const withLegal = addDomain(router, "legal", ["do you have a GDPR DPA?", …19 more])
 * routeText(withLegal, "where do I send a subpoena?").domain // → "legal"
 */
export function addDomain(router: Router, domain: string, examples: readonly string[]): Router {
  if (!DOMAIN_NAME.test(domain)) throw new LoraEdgeError(400, "invalid_domain", `domain must match ${DOMAIN_NAME.source}`, { param: "domain" });
  if (domain === NONE_CLASS || domain === AUTO_MODEL) throw new LoraEdgeError(400, "reserved_domain", `"${domain}" is reserved`, { param: "domain" });
  const texts = [...new Set(examples.map((e) => (typeof e === "string" ? e.trim() : "")).filter((e) => e.length > 0))];
  if (texts.length < MIN_DOMAIN_EXAMPLES) throw new LoraEdgeError(400, "too_few_examples", `a domain needs at least ${MIN_DOMAIN_EXAMPLES} distinct examples, got ${texts.length}`, { param: "examples" });
  if (texts.length > MAX_DOMAIN_EXAMPLES) throw new LoraEdgeError(400, "too_many_examples", `a domain takes at most ${MAX_DOMAIN_EXAMPLES} examples, got ${texts.length}`, { param: "examples" });

  const base = router.model.classes.includes(domain) ? removeDomain(router, domain) : router;
  const classes = base.model.classes;
  const k = classes.length; // the new class's index
  const dim = base.model.dim;

  // data: each class's replay texts with their variants and sentences (each text's group weighing
  // 1 in all), then the new examples and their variants as class k
  const vectors: SparseVector[] = [];
  const labels: number[] = [];
  const weights: number[] = [];
  let replayTexts = 0;
  classes.forEach((name, c) => {
    const replay = base.replay[name] ?? [];
    replayTexts += replay.length;
    for (const group of augmentedReplayFeatures(base, replay)) {
      for (const x of group) {
        vectors.push(x);
        labels.push(c);
        weights.push(1 / group.length);
      }
    }
  });
  const own = texts.flatMap((text) => [text, ...wordDropoutVariants(text, EXAMPLE_VARIANTS, WORD_DROP)]);
  const domainWeight = Math.min(MAX_NEW_DOMAIN_WEIGHT, Math.max(1, MAX_NEW_DOMAIN_WEIGHT * (MIN_DOMAIN_EXAMPLES / texts.length) ** 2));
  const ownWeight = (domainWeight * replayTexts) / Math.max(1, k) / own.length;
  for (const text of own) {
    vectors.push(extractFeatures(text, base.features));
    labels.push(k);
    weights.push(ownWeight);
  }
  // Existing rows enter as fixed logits (uncalibrated, the space every row is trained in).
  const logitOffsets = vectors.map((x) => {
    const offsets = new Float64Array(k + 1);
    offsets.set(computeLogits(base.model, x));
    return offsets;
  });
  const fitted = fitSoftmaxRegression(
    { vectors, labels: Int32Array.from(labels), sampleWeights: Float64Array.from(weights), initial: zeroModel([...classes, domain], dim), trainableClasses: [k], logitOffsets },
    base.addDomainTraining,
  );

  const rows = new Float32Array((k + 1) * dim); // [classes + 1, dim]
  rows.set(base.model.weights);
  rows.set(fitted.weights.subarray(k * dim, (k + 1) * dim), k * dim);
  const bias = new Float32Array(k + 1);
  bias.set(base.model.bias);
  bias[k] = fitted.bias[k] as number;
  return {
    ...base,
    model: { classes: [...classes, domain], dim, weights: rows, bias },
    thresholds: { ...base.thresholds, [domain]: base.addedDomainThreshold },
    replay: { ...base.replay, [domain]: texts },
  };
}

/**
 * Returns a router without `domain` (its weight row, threshold and replay texts); requests that
 * would have gone there are classified among the remaining classes. Throws 404 `domain_not_found`
 * for an unknown domain and 400 `reserved_domain` for `none`.
 *
 * @example removeDomain(addDomain(router, "legal", examples), "legal").model.classes // → router's classes
 */
export function removeDomain(router: Router, domain: string): Router {
  if (domain === NONE_CLASS) throw new LoraEdgeError(400, "reserved_domain", `"${NONE_CLASS}" cannot be removed`, { param: "domain" });
  const c = router.model.classes.indexOf(domain);
  if (c < 0) throw new LoraEdgeError(404, "domain_not_found", `no domain "${domain}"`, { param: "domain" });
  const { dim } = router.model;
  const weights = new Float32Array((router.model.classes.length - 1) * dim);
  weights.set(router.model.weights.subarray(0, c * dim));
  weights.set(router.model.weights.subarray((c + 1) * dim), c * dim);
  const { [domain]: _threshold, ...thresholds } = router.thresholds;
  const { [domain]: _replay, ...replay } = router.replay;
  return {
    ...router,
    model: { classes: router.model.classes.filter((name) => name !== domain), dim, weights, bias: Float32Array.from(router.model.bias.filter((_, i) => i !== c)) },
    thresholds,
    replay,
  };
}

const augmentedReplayCache = new WeakMap<readonly string[], SparseVector[][]>();

/**
 * Feature vectors of one class's replay texts, one group per text: the text, its `REPLAY_VARIANTS`
 * word-dropout variants and its sentences. Memoised per texts array: routers derived by `addDomain`
 * share the arrays, so replaying registrations at isolate start extracts each text once.
 */
function augmentedReplayFeatures(router: Router, texts: readonly string[]): SparseVector[][] {
  let groups = augmentedReplayCache.get(texts);
  if (!groups) {
    groups = texts.map((text) => [text, ...wordDropoutVariants(text, REPLAY_VARIANTS, WORD_DROP), ...sentenceFragments(text)].map((t) => extractFeatures(t, router.features)));
    augmentedReplayCache.set(texts, groups);
  }
  return groups;
}
