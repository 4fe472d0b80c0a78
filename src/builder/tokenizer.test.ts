import { describe, expect, it } from "vitest";
import { Tokenizer } from "@huggingface/tokenizers";
import { BYTE_TO_CHAR, SPECIAL_TOKENS, buildTokenizer } from "./tokenizer.ts";
import { DEFAULT_CORPUS } from "./corpus.ts";

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

describe("buildTokenizer", () => {
  it("gives the same JSON bytes for the same corpus", () => {
    const a = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 });
    const b = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 });
    expect(JSON.stringify(b.tokenizerJson)).toBe(JSON.stringify(a.tokenizerJson));
    expect(JSON.stringify(b.tokenizerConfig)).toBe(JSON.stringify(a.tokenizerConfig));
  });

  it("holds the 256 byte symbols as ids 0..255 and the specials right after the merges", () => {
    const { tokenizerJson, specialTokens, vocabSize } = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 1024 });
    const vocab = tokenizerJson.model.vocab;
    BYTE_TO_CHAR.forEach((c, b) => expect(vocab[c]).toBe(b));
    expect(vocabSize).toBe(1024);
    expect(Object.keys(vocab)).toHaveLength(1024 - SPECIAL_TOKENS.length);
    expect(SPECIAL_TOKENS.map((t) => specialTokens[t])).toEqual([1021, 1022, 1023]);
    expect(tokenizerJson.added_tokens.map((t) => [t.content, t.id, t.special])).toEqual(SPECIAL_TOKENS.map((t, i) => [t, 1021 + i, true]));
    expect(specialTokens.eos).toBe(specialTokens["<|im_end|>"]);
  });

  it("makes every merge from tokens already in the vocabulary", () => {
    const { tokenizerJson } = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 1024 });
    const { vocab, merges } = tokenizerJson.model;
    for (const merge of merges) {
      const [a, b] = merge.split(" ") as [string, string];
      expect(vocab[a]! < vocab[a + b]! && vocab[b]! < vocab[a + b]!, merge).toBe(true);
    }
  });

  it("merges the most frequent byte pair first", () => {
    // Count adjacent byte pairs inside pre-tokens independently of the trainer.
    const counts = new Map<string, number>();
    for (const piece of DEFAULT_CORPUS.match(GPT2_SPLIT) ?? []) {
      const s = Array.from(new TextEncoder().encode(piece), (b) => BYTE_TO_CHAR[b]!);
      for (let i = 0; i + 1 < s.length; i++) counts.set(`${s[i]} ${s[i + 1]}`, (counts.get(`${s[i]} ${s[i + 1]}`) ?? 0) + 1);
    }
    const top = Math.max(...counts.values());
    const first = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 300 }).tokenizerJson.model.merges[0]!;
    expect(counts.get(first)).toBe(top);
  });

  it("stops when no pair is left, learning merges in frequency order", () => {
    // "ab", " ab", " ab": (a,b) ×3 merges first, then (Ġ,ab) ×2; nothing remains.
    const { tokenizerJson, vocabSize } = buildTokenizer({ corpus: "ab ab ab", vocabSize: 400 });
    expect(tokenizerJson.model.merges).toEqual(["a b", "Ġ ab"]);
    expect(vocabSize).toBe(256 + 2 + SPECIAL_TOKENS.length);
  });

  it("compresses its corpus and decodes it back exactly through @huggingface/tokenizers", () => {
    const { tokenizerJson, tokenizerConfig } = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 });
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const ids = tokenizer.encode(DEFAULT_CORPUS, { add_special_tokens: false }).ids;
    expect(tokenizer.decode(ids)).toBe(DEFAULT_CORPUS);
    // A trained vocab should need well under half a token per byte on its own training text.
    expect(ids.length / new TextEncoder().encode(DEFAULT_CORPUS).length).toBeLessThan(0.4);
  });

  it("rejects a vocabSize that cannot hold the byte symbols and specials", () => {
    expect(() => buildTokenizer({ corpus: "x", vocabSize: 200 })).toThrow(RangeError);
    expect(() => buildTokenizer({ corpus: "x", vocabSize: 1000.5 })).toThrow(RangeError);
  });
});
