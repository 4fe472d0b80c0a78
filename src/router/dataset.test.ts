import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { chatUserTurns, comparableText, parseLabelledJsonl, ROUTER_ONLY_FILES } from "./dataset.ts";
import { readRouterData } from "./test-data.ts";
import { heldoutDomains, readHeldout } from "../../tools/domain-eval/facts.ts";

const DOMAINS = ["none", "sales", "support", "technical"];
const splits = { train: readRouterData("train"), val: readRouterData("val"), test: readRouterData("test") };
const routerOnlyRows = () => ROUTER_ONLY_FILES.flatMap((file) => parseLabelledJsonl(readFileSync(`data/router/${file}`, "utf8")));
const trainingUserTurns = () => ["support", "sales", "technical"].flatMap((domain) => chatUserTurns(readFileSync(`data/chat/${domain}.train.jsonl`, "utf8")));
const wordSet = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

describe("data/router", () => {
  it("holds at least 900 labelled examples across the four classes", () => {
    const all = [...splits.train, ...splits.val, ...splits.test];
    expect(all.length).toBeGreaterThanOrEqual(900);
    expect([...new Set(all.map((e) => e.domain))].sort()).toEqual(DOMAINS);
  });

  it("is stratified: every class's generated rows are 60–80% train, 10–20% val and 10–20% test", () => {
    // the train-only rows (the adapters' training turns, the router-only files) are not split
    const trainOnly = new Set([...trainingUserTurns(), ...routerOnlyRows().map((e) => e.text)].map((text) => text.toLowerCase()));
    for (const domain of DOMAINS) {
      const count = (rows: typeof splits.train) => rows.filter((e) => e.domain === domain && !trainOnly.has(e.text.toLowerCase())).length;
      const total = count(splits.train) + count(splits.val) + count(splits.test);
      expect(count(splits.train) / total, domain).toBeGreaterThan(0.6);
      expect(count(splits.train) / total, domain).toBeLessThan(0.8);
      for (const split of [splits.val, splits.test]) {
        expect(count(split) / total, domain).toBeGreaterThan(0.1);
        expect(count(split) / total, domain).toBeLessThan(0.2);
      }
    }
  });

  it("has no held-out row that is a near-duplicate (word-set Jaccard ≥ 0.8) of a train row", () => {
    const trainSets = splits.train.map((e) => wordSet(e.text));
    for (const row of [...splits.val, ...splits.test]) {
      const words = wordSet(row.text);
      for (const train of trainSets) {
        let shared = 0;
        for (const w of words) if (train.has(w)) shared++;
        const jaccard = shared / (words.size + train.size - shared || 1);
        if (jaccard >= 0.8) throw new Error(`near-duplicate of a train row: ${row.text}`);
      }
    }
  });

  it("is exactly what the seeded generator writes", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    execFileSync(process.execPath, ["--import", "tsx", "tools/router-data.ts", "--check"], { cwd: root, stdio: "pipe" });
  });
});

// Two hand-written sets, each ≥ 300 messages, never trained or calibrated on: dev.jsonl chooses
// among router candidates, realistic.jsonl is only the final test (see README, Domain router).
describe.each(["dev", "realistic"] as const)("data/router/%s.jsonl (hand-written, evaluation only)", (name) => {
  const set = readRouterData(name);
  const share = (keep: (e: (typeof set)[number]) => boolean) => set.filter(keep).length / set.length;

  it("holds at least 300 messages: ≥ 15% off-topic, ≥ 10% in Spanish, German, French and Portuguese, some ambiguous", () => {
    expect(set.length).toBeGreaterThanOrEqual(300);
    expect([...new Set(set.map((e) => e.domain))].sort()).toEqual(DOMAINS);
    expect(share((e) => e.domain === "none")).toBeGreaterThanOrEqual(0.15);
    expect(share((e) => e.lang !== undefined && e.lang !== "en")).toBeGreaterThanOrEqual(0.1);
    for (const lang of ["es", "de", "fr", "pt"]) expect(set.filter((e) => e.lang === lang).length, lang).toBeGreaterThanOrEqual(8);
    expect(set.every((e) => e.lang !== undefined)).toBe(true);
    expect(set.filter((e) => e.ambiguous).length).toBeGreaterThanOrEqual(5);
  });

  it("is never trained or calibrated on: no message, normalised, equals or is contained in a train, val or test row", () => {
    const rows = [...splits.train, ...splits.val, ...splits.test].map((e) => ` ${comparableText(e.text)} `);
    const exact = new Set(rows);
    for (const message of set) {
      const key = ` ${comparableText(message.text)} `;
      if (key.trim() === "") continue; // "👍" has no words to leak
      expect(exact.has(key), message.text).toBe(false);
      // short messages ("refund?") may well occur inside a longer generated row; longer ones must not
      if (key.trim().split(" ").length >= 6) expect(rows.some((row) => row.includes(key)), message.text).toBe(false);
    }
  });
});

describe("data/router/dev.jsonl", () => {
  it("shares no message of six or more words with the realistic test set (it was written apart from it)", () => {
    const realistic = new Set(readRouterData("realistic").map((e) => comparableText(e.text)));
    const longDev = readRouterData("dev").map((e) => comparableText(e.text)).filter((key) => key.split(" ").length >= 6);
    expect(longDev.filter((key) => realistic.has(key))).toEqual([]);
  });
});

describe("parseLabelledJsonl", () => {
  it("skips blank lines and names the line of a bad row", () => {
    expect(parseLabelledJsonl('{"text":"hi","domain":"none"}\n\n')).toEqual([{ text: "hi", domain: "none" }]);
    expect(() => parseLabelledJsonl('{"text":"hi","domain":"none"}\n{"text":1}')).toThrow(/line 2/);
    expect(() => parseLabelledJsonl("not json")).toThrow(/line 1: not valid JSON/);
  });

  it("keeps the optional language and ambiguity marks and rejects a malformed language", () => {
    expect(parseLabelledJsonl('{"text":"hola","domain":"none","lang":"es","ambiguous":true}')).toEqual([{ text: "hola", domain: "none", lang: "es", ambiguous: true }]);
    expect(() => parseLabelledJsonl('{"text":"hola","domain":"none","lang":"spanish"}')).toThrow(/line 1/);
  });
});

// The adapters' held-out fact questions measure `model: "auto"` in `npm run eval:domains`: the router
// must never have seen them, in any split or in the router-only files the generator reads.
describe("data/chat/heldout (the domain evaluation's questions)", () => {
  const heldout = heldoutDomains("data/chat/heldout").flatMap((domain) => readHeldout("data/chat/heldout", domain));
  const routerOnly = routerOnlyRows();

  it("is never trained or calibrated on by the router: no question, normalised, equals or is contained in a row", () => {
    expect(heldout.length).toBe(135);
    const rows = [...splits.train, ...splits.val, ...splits.test, ...routerOnly].map((e) => ` ${comparableText(e.text)} `);
    const exact = new Set(rows);
    for (const { question } of heldout) {
      const key = ` ${comparableText(question)} `;
      expect(exact.has(key), question).toBe(false);
      expect(rows.some((row) => row.includes(key)), question).toBe(false);
    }
  });
});

describe("data/router/company-questions.jsonl (router-only, written blind to the held-out questions)", () => {
  const rows = readFileSync("data/router/company-questions.jsonl", "utf8").trim().split("\n").map((line) => JSON.parse(line) as { text: string; domain: string; fact: string });

  it("asks about every fact of the three sheets, 27 questions each (two rounds: 15, then 12), under the fact's own domain", () => {
    const facts = new Map(heldoutDomains("data/chat/heldout").flatMap((domain) => readHeldout("data/chat/heldout", domain).map((q) => [q.fact, q.domain] as const)));
    expect(facts.size).toBe(45);
    const perFact = new Map<string, number>();
    for (const row of rows) {
      expect(facts.get(row.fact), row.text).toBe(row.domain);
      perFact.set(row.fact, (perFact.get(row.fact) ?? 0) + 1);
    }
    expect([...perFact.values()].every((n) => n === 27)).toBe(true);
    expect(perFact.size).toBe(45);
  });
});
