/**
 * The TypeScript fact rule against its Python original (`domain_facts.states_fact`): the cases
 * training/tests pins; every verdict training/eval_domains.py recorded in the cached parts of the
 * committed evaluation (bench/domain-eval-smollm2.parts: real replies of the base and the adapters);
 * and the reference answers of data/chat/<domain>.eval.jsonl, each of which states its question's
 * fact (domain_facts.load_sheet refuses a sheet otherwise).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { heldoutDomains, readHeldout, statesFact } from "./facts.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const HELDOUT = `${REPO}data/chat/heldout`;
const PARTS = `${REPO}bench/domain-eval-smollm2.parts`;
const domains = heldoutDomains(HELDOUT);

describe("statesFact", () => {
  it("normalizes case, dashes and whitespace, and wants the whole accepted string", () => {
    expect(statesFact("Standard shipping takes 4–6  Business\nDays.", ["4-6 business days"])).toBe(true);
    expect(statesFact("Use the IDEMPOTENCY-KEY header", ["Idempotency-Key"])).toBe(true);
    expect(statesFact("It takes 3-5 business days", ["4-6 business days", "4 to 6 business days"])).toBe(false);
    expect(statesFact("ｆｕｌｌ−width ４５ days", ["full-width 45 days"])).toBe(true); // NFKC, U+2212: True in Python too
  });

  it("gives Python's verdict on every reply the Python evaluation judged (cached parts)", () => {
    const parts = existsSync(PARTS) ? readdirSync(PARTS).filter((f) => f.endsWith(".json") && f !== "api-replies.json") : [];
    const verdicts = parts.flatMap((f) => {
      const part = JSON.parse(readFileSync(`${PARTS}/${f}`, "utf8")) as { replies: Record<string, string[]>; correct: Record<string, boolean[]> };
      return Object.entries(part.replies).flatMap(([d, replies]) => {
        const rows = readHeldout(HELDOUT, d);
        return replies.map((reply, i) => ({ reply, accept: rows[i]!.accept, want: part.correct[d]![i]! }));
      });
    });
    expect(verdicts.length).toBeGreaterThanOrEqual(100);
    expect(verdicts.filter((v) => statesFact(v.reply, v.accept) !== v.want)).toEqual([]);
  });

  it("finds its question's fact in each reference answer", () => {
    for (const d of domains) {
      const rows = readHeldout(HELDOUT, d);
      const answers = readFileSync(`${REPO}data/chat/${d}.eval.jsonl`, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { messages: { role: string; content: string }[] }).messages.at(-1)!.content);
      answers.forEach((a, i) => {
        expect(statesFact(a, rows[i]!.accept), a).toBe(true);
      });
    }
  });
});
