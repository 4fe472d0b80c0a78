/**
 * The routing decision for a chat request: explicit model names bypass the classifier, `auto` (or no
 * model) classifies the conversation, and anything the classifier is not sure about, or cannot read,
 * goes to the base model.
 */
import { combineFeatures, extractFeatures, normaliseText } from "./features.ts";
import type { SparseVector } from "./features.ts";
import { isRoutedLanguage } from "./language.ts";
import { argmax } from "./model.ts";
import type { Router } from "./router.ts";
import { NONE_CLASS, classProbabilities, namedScores } from "./router.ts";

/** Why a request went where it went. */
export type RoutingReason = "classifier" | "explicit" | "fallback";

/**
 * The one routing decision. `domain` is the routed domain (for `explicit`, the model name as given),
 * or null for the base model. `confidence` is the calibrated probability of the classifier's top
 * class (1 for explicit, 0 when nothing could be classified). `scores` holds every class's
 * calibrated probability, `none` included; it is empty when the classifier was not consulted.
 */
export interface RoutingDecision {
  domain: string | null;
  confidence: number;
  scores: Record<string, number>;
  reason: RoutingReason;
}

/** The part of an OpenAI chat message the router reads. */
export interface RoutableMessage {
  role: string;
  content?: string | ReadonlyArray<{ type: string; text?: string }> | null;
}

export interface RouteOptions {
  /** The request's `model`: "auto" or absent → classify; anything else → explicit. */
  model?: string;
  /** Per-domain threshold overrides in [0, 1]; the router's defaults fill the rest. */
  thresholds?: Readonly<Record<string, number>>;
}

export const AUTO_MODEL = "auto";

/**
 * Routes a chat request. Never throws on message content: empty, whitespace-only, huge or
 * unreadable input falls back to the base model.
 *
 * @example routeMessages(router, [{ role: "user", content: "where is my parcel?" }], { model: "auto" })
 * // → { domain: "support", confidence: 0.97, scores: {...}, reason: "classifier" }
 */
export function routeMessages(router: Router, messages: readonly RoutableMessage[], options: RouteOptions = {}): RoutingDecision {
  if (options.model !== undefined && options.model !== AUTO_MODEL) return { domain: options.model, confidence: 1, scores: {}, reason: "explicit" };
  const x = conversationFeatures(router, messages);
  if (!x) return { domain: null, confidence: 0, scores: {}, reason: "fallback" };
  const probabilities = classProbabilities(router, x);
  const top = argmax(probabilities);
  const domain = router.model.classes[top] as string;
  const confidence = probabilities[top] as number;
  const scores = namedScores(router, probabilities);
  const threshold = options.thresholds?.[domain] ?? router.thresholds[domain] ?? router.addedDomainThreshold;
  if (domain === NONE_CLASS || confidence < threshold) return { domain: null, confidence, scores, reason: "fallback" };
  return { domain, confidence, scores, reason: "classifier" };
}

/**
 * Routes a single message, as `POST /v1/route` and the CLIs do.
 *
 * @example routeText(router, "how much is the pro plan?").domain // → "sales"
 */
export function routeText(router: Router, text: string, options: RouteOptions = {}): RoutingDecision {
  return routeMessages(router, [{ role: "user", content: text }], options);
}

/**
 * The feature vector of a conversation, or null when there is nothing the classifier can read.
 *
 * Definition: with u₀ the latest user turn and u_d the user turn d turns before it (d ≤
 * `maxEarlierTurns`), x = L2(f(u₀) + Σ_d w^d · f(u_d)) with w = `earlierTurnWeight` (0.3, so the
 * previous turn counts 0.3 and the one before 0.09). f() is the unit-norm text feature vector, so
 * the latest turn dominates and earlier turns only tip short or ambiguous follow-ups ("and how much
 * is it per seat?"). System and assistant turns are ignored: the operator's prompt and the adapter's
 * own replies say nothing about what the customer wants.
 *
 * An empty latest turn is routed on its earlier turns alone. Null when the user turns have no
 * words at all, or when the latest turn is not in a language the classifier was trained on
 * (`isRoutedLanguage`: English, Spanish, German, French, Portuguese; elsewhere its n-grams are
 * noise), so those fall back.
 */
export function conversationFeatures(router: Router, messages: readonly RoutableMessage[]): SparseVector | null {
  const userTurns: string[] = [];
  for (let i = messages.length - 1; i >= 0 && userTurns.length <= router.context.maxEarlierTurns; i--) {
    const message = messages[i];
    if (message?.role === "user") userTurns.push(messageText(message));
  }
  const latest = userTurns[0];
  if (latest === undefined || !isRoutedLanguage(normaliseText(latest, router.features.maxChars))) return null;
  const parts = [{ vector: extractFeatures(latest, router.features), weight: 1 }];
  const earlierFeatures = { ...router.features, maxChars: router.context.earlierTurnMaxChars };
  for (let d = 1; d < userTurns.length; d++) parts.push({ vector: extractFeatures(userTurns[d] as string, earlierFeatures), weight: router.context.earlierTurnWeight ** d });
  const x = parts.length === 1 ? (parts[0] as { vector: SparseVector }).vector : combineFeatures(parts);
  return x.indices.length > 0 ? x : null;
}

/** Text of a message: a string, or the concatenated text parts of an OpenAI content array. */
function messageText(message: RoutableMessage): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (part.type === "text" && typeof part.text === "string" ? part.text : "")).join("\n");
}
