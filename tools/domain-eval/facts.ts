/**
 * The held-out fact questions (data/chat/heldout/<domain>.jsonl) and the rule that says whether a
 * reply states a fact: the TypeScript twin of `training/domain_facts.py`'s `states_fact`, which
 * documents the rule (NFKC, lower case, dashes as "-", whitespace runs as one space, trimmed; some
 * accepted string is a substring of the reply). It does not read the fact sheets themselves.
 *
 * @example statesFact("Standard shipping takes 4–6  Business\nDays.", ["4-6 business days"]) // true
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One held-out question: its domain, the fact it asks for and the strings that state that fact. */
export type HeldoutQuestion = { domain: string; fact: string; question: string; accept: string[] };

const DASHES = /[\u2010-\u2015\u2212]/g;
const SPACES = /\s+/g;

/** `domain_facts.normalize`: NFKC, lower-cased, dashes to "-", whitespace runs to one space, trimmed. */
export function normalizeFactText(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(DASHES, "-").replace(SPACES, " ").trim();
}

/** Whether `reply` contains one of the accepted strings, both normalized. */
export function statesFact(reply: string, accept: readonly string[]): boolean {
  const said = normalizeFactText(reply);
  return accept.some((a) => said.includes(normalizeFactText(a)));
}

/** The domains with a held-out file in `dir`, sorted. */
export function heldoutDomains(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".jsonl")).map((f) => f.slice(0, -".jsonl".length)).sort();
}

/** `dir/<domain>.jsonl`, every line checked for the fields a question needs. */
export function readHeldout(dir: string, domain: string): HeldoutQuestion[] {
  const path = join(dir, `${domain}.jsonl`);
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line, i) => {
      const row = JSON.parse(line) as Partial<HeldoutQuestion>;
      if (typeof row.question !== "string" || typeof row.fact !== "string" || !Array.isArray(row.accept) || row.accept.length === 0 || row.domain !== domain) {
        throw new Error(`${path}:${i + 1}: expected {"domain": "${domain}", "fact", "question", "accept": [...]}`);
      }
      return row as HeldoutQuestion;
    });
}
