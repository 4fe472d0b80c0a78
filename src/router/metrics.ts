/**
 * Evaluation of a router on labelled examples: accuracy of the top class, per-class precision /
 * recall / F1, the confusion matrix, calibration error, and how often each class falls back.
 */
import { expectedCalibrationError } from "./calibrate.ts";
import type { LabelledExample } from "./dataset.ts";
import { routeText } from "./decision.ts";
import type { Router } from "./router.ts";
import { NONE_CLASS } from "./router.ts";

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface RouterEvaluation {
  examples: number;
  /** Share of examples whose top class (before thresholds) is the label. */
  accuracy: number;
  /** Share routed where they should go: their domain, or the base model for `none`. */
  routedAccuracy: number;
  /** Top-class accuracy over the examples labelled with a domain (not `none`). */
  domainAccuracy: number;
  /** Per language of the examples (`en` when unmarked): how many, and the share routed where they should go. */
  byLanguage: Record<string, { examples: number; routedAccuracy: number }>;
  perClass: Record<string, ClassMetrics>;
  /** confusion[label][predicted top class] = count */
  confusion: Record<string, Record<string, number>>;
  /** 10-bin expected calibration error of the top-class confidence. */
  ece: number;
  /** Per label: share of its examples that fell back to the base model. */
  fallbackRate: Record<string, number>;
}

/**
 * Routes every example with `model: "auto"` and scores the results.
 *
 * @example evaluateRouter(router, testExamples).accuracy // → 0.97
 */
export function evaluateRouter(router: Router, examples: readonly LabelledExample[]): RouterEvaluation {
  const classes = [...new Set([...router.model.classes, ...examples.map((e) => e.domain)])];
  const confusion: Record<string, Record<string, number>> = {};
  for (const label of classes) confusion[label] = Object.fromEntries(classes.map((p) => [p, 0]));
  const fallbacks: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const confidences: number[] = [];
  const correct: boolean[] = [];
  let routedCorrect = 0;
  let domainExamples = 0;
  let domainCorrect = 0;
  const languages: Record<string, { examples: number; routed: number }> = {};
  for (const example of examples) {
    const decision = routeText(router, example.text);
    // the top class; an unreadable input (no scores) counts as predicting none
    const top = Object.entries(decision.scores).reduce<[string, number]>((best, entry) => (entry[1] > best[1] ? entry : best), [NONE_CLASS, -1])[0];
    const row = confusion[example.domain] as Record<string, number>;
    row[top] = (row[top] ?? 0) + 1;
    counts[example.domain] = (counts[example.domain] ?? 0) + 1;
    if (decision.domain === null) fallbacks[example.domain] = (fallbacks[example.domain] ?? 0) + 1;
    const wanted = example.domain === NONE_CLASS ? null : example.domain;
    const language = (languages[example.lang ?? "en"] ??= { examples: 0, routed: 0 });
    language.examples++;
    if (decision.domain === wanted) {
      routedCorrect++;
      language.routed++;
    }
    if (wanted !== null) {
      domainExamples++;
      if (top === example.domain) domainCorrect++;
    }
    confidences.push(decision.confidence);
    correct.push(top === example.domain);
  }
  const perClass: Record<string, ClassMetrics> = {};
  for (const label of classes) {
    const truePositives = confusion[label]?.[label] ?? 0;
    const predicted = classes.reduce((sum, l) => sum + (confusion[l]?.[label] ?? 0), 0);
    const actual = counts[label] ?? 0;
    const precision = predicted ? truePositives / predicted : 0;
    const recall = actual ? truePositives / actual : 0;
    perClass[label] = { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support: actual };
  }
  const n = Math.max(1, examples.length);
  return {
    examples: examples.length,
    accuracy: correct.filter(Boolean).length / n,
    routedAccuracy: routedCorrect / n,
    domainAccuracy: domainCorrect / Math.max(1, domainExamples),
    byLanguage: Object.fromEntries(Object.entries(languages).map(([lang, l]) => [lang, { examples: l.examples, routedAccuracy: l.routed / l.examples }])),
    perClass,
    confusion,
    ece: expectedCalibrationError(confidences, correct).ece,
    fallbackRate: Object.fromEntries(Object.keys(counts).map((label) => [label, (fallbacks[label] ?? 0) / (counts[label] as number)])),
  };
}
