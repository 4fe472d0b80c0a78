/**
 * Labelled router data (data/router/*.jsonl): parsing, and the text comparisons that keep held-out
 * rows apart from training rows.
 */
import { z } from "zod";

/**
 * One labelled row of data/router/*.jsonl: a customer message and the domain it belongs to. The
 * realistic evaluation set also says which language the message is in (ISO 639-1, "en" when
 * absent) and marks the messages whose label is a human triager's call between two domains.
 */
export interface LabelledExample {
  text: string;
  domain: string;
  lang?: string;
  ambiguous?: boolean;
}

const labelledRowSchema = z.object({ text: z.string(), domain: z.string().min(1), lang: z.string().regex(/^[a-z]{2}$/).optional(), ambiguous: z.boolean().optional() });

/**
 * Parses JSONL text into labelled examples; blank lines are skipped, anything else that is not a
 * `{"text","domain"}` object throws with its 1-based line number.
 *
 * @example parseLabelledJsonl('{"text":"where is my order","domain":"support"}\n') // → [{text: "where is my order", domain: "support"}]
 */
export function parseLabelledJsonl(jsonl: string): LabelledExample[] {
  return parseJsonlLines(jsonl, (value, line) => {
    const row = labelledRowSchema.safeParse(value);
    if (!row.success) throw new Error(`line ${line}: expected {"text": string, "domain": string, "lang"?: two letters, "ambiguous"?: boolean}`);
    const { text, domain, lang, ambiguous } = row.data;
    return { text, domain, ...(lang === undefined ? {} : { lang }), ...(ambiguous === undefined ? {} : { ambiguous }) };
  });
}

/**
 * Each non-blank line of JSONL through `read` (with its 1-based number); a line that is not JSON
 * throws with its number.
 *
 * @example parseJsonlLines('{"text":"hi"}\n', (v) => (v as { text: string }).text) // → ["hi"]
 */
export function parseJsonlLines<T>(jsonl: string, read: (value: unknown, line: number) => T): T[] {
  const out: T[] = [];
  jsonl.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1}: not valid JSON`);
    }
    out.push(read(value, i + 1));
  });
  return out;
}

/**
 * Jaccard similarity of the two texts' sets of lower-cased words; 1 means the same words. Used to
 * keep held-out rows from being near-duplicates of training rows.
 *
 * @example wordSetJaccard("Where is my order?", "where is my order") // → 1
 */
export function wordSetJaccard(a: string, b: string): number {
  const wordsA = new Set(a.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const wordsB = new Set(b.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  if (wordsA.size === 0 && wordsB.size === 0) return 1;
  let shared = 0;
  for (const word of wordsA) if (wordsB.has(word)) shared++;
  return shared / (wordsA.size + wordsB.size - shared);
}

/**
 * A text reduced to its words: lower-cased, NFKC, every run of non-letters/digits one space. Two
 * texts that differ only in case, punctuation or spacing have the same key.
 *
 * @example comparableText("Refund?!  PLEASE") // → "refund please"
 */
export function comparableText(text: string): string {
  return (text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? []).join(" ");
}

/**
 * The hand-written router-only files in data/router: train and validation rows that are not split
 * from templates (tools/router-data.ts reads them; the stratification test leaves them out).
 */
export const ROUTER_ONLY_FILES = ["company-questions.jsonl", "offtopic-hard.jsonl"] as const;

/**
 * The user messages of an OpenAI `messages` JSONL text (data/chat/<domain>.train.jsonl), in order.
 *
 * @example chatUserTurns('{"messages":[{"role":"user","content":"hi"}]}') // → ["hi"]
 */
export function chatUserTurns(jsonl: string): string[] {
  return parseJsonlLines(jsonl, (row) => (row as { messages: { role: string; content: string }[] }).messages)
    .flat()
    .filter((m) => m.role === "user")
    .map((m) => m.content);
}
