/**
 * Variants of a text, for fitting a domain from a handful of examples. Word-dropout variants keep
 * every word of the text with probability 1 − `drop`, in order: a row fitted on twenty whole
 * messages leans on the few n-grams that separate exactly those messages; fitted on their variants
 * too, it spreads its weight over every word of the domain, which is what unseen messages of the
 * domain share with them. Sentence fragments are a message's sentences one by one: a greeting or
 * "I looked through the help pages first." alone says nothing about any domain, so as a negative it
 * teaches a new row not to lean on such sentences. Deterministic: the random stream is seeded by
 * the text itself, so a text always gets the same variants, whatever came before it.
 */
import { seededUniform } from "../runtime/random.ts";

/**
 * `count` word-dropout variants of `text` (whitespace-separated words; a variant that would be
 * empty keeps the first word).
 *
 * @example wordDropoutVariants("please send the signed DPA today", 2, 0.35) // → ["please the signed today", "send signed DPA today"]
 */
export function wordDropoutVariants(text: string, count: number, drop: number): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const random = seededUniform(textSeed(text));
  const variants: string[] = [];
  for (let v = 0; v < count; v++) {
    const kept = words.filter(() => random() >= drop);
    variants.push(kept.length > 0 ? kept.join(" ") : (words[0] ?? ""));
  }
  return variants;
}

/** FNV-1a of the text's UTF-16 code units: the seed of its variants. */
function textSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The sentences of a text (split after `.`, `!`, `?` or a line break), or none when it has only one.
 *
 * @example sentenceFragments("Hi team. Where is my refund?") // → ["Hi team.", "Where is my refund?"]
 */
export function sentenceFragments(text: string): string[] {
  const sentences = text.split(/(?<=[.!?\n])\s+/).map((s) => s.trim()).filter((s) => s.length > 0);
  return sentences.length > 1 ? sentences : [];
}
