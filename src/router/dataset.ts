import { z } from "zod";

/** One labelled row of data/router/*.jsonl: a customer message and the domain it belongs to. */
export interface LabelledExample {
  text: string;
  domain: string;
}

const labelledRowSchema = z.object({ text: z.string(), domain: z.string().min(1) });

/**
 * Parses JSONL text into labelled examples; blank lines are skipped, anything else that is not a
 * `{"text","domain"}` object throws with its 1-based line number.
 *
 * @example parseLabelledJsonl('{"text":"where is my order","domain":"support"}\n') // → [{text: "where is my order", domain: "support"}]
 */
export function parseLabelledJsonl(jsonl: string): LabelledExample[] {
  return parseJsonlLines(jsonl, (value, line) => {
    const row = labelledRowSchema.safeParse(value);
    if (!row.success) throw new Error(`line ${line}: expected {"text": string, "domain": string}`);
    return { text: row.data.text, domain: row.data.domain };
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
