import { describe, expect, it } from "vitest";
import { sentenceFragments, wordDropoutVariants } from "./augment.ts";

describe("wordDropoutVariants", () => {
  const text = "please send us the signed data processing agreement before friday";

  it("keeps the words of the text in order and drops about the asked share", () => {
    const words = text.split(" ");
    const variants = wordDropoutVariants(text, 200, 0.35);
    let kept = 0;
    for (const variant of variants) {
      const got = variant.split(" ");
      // a subsequence of the original words
      let at = 0;
      for (const word of got) {
        at = words.indexOf(word, at) + 1;
        expect(at, variant).toBeGreaterThan(0);
      }
      kept += got.length;
    }
    expect(kept / (variants.length * words.length)).toBeGreaterThan(0.6);
    expect(kept / (variants.length * words.length)).toBeLessThan(0.7);
  });

  it("gives a text the same variants every time, whatever was drawn before", () => {
    const first = wordDropoutVariants(text, 5, 0.35);
    wordDropoutVariants("something else entirely", 7, 0.5);
    expect(wordDropoutVariants(text, 5, 0.35)).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it("never returns an empty variant", () => {
    for (const variant of wordDropoutVariants("refund?", 50, 0.9)) expect(variant).toBe("refund?");
  });
});

describe("sentenceFragments", () => {
  it("splits after sentence ends and line breaks, and gives nothing for a single sentence", () => {
    expect(sentenceFragments("I looked through the help pages first. Where is my refund?\nthanks")).toEqual(["I looked through the help pages first.", "Where is my refund?", "thanks"]);
    expect(sentenceFragments("where is my refund?")).toEqual([]);
    expect(sentenceFragments("version 2.1 of the sdk fails")).toEqual([]);
  });
});
