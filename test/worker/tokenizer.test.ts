import { describe, expect, it } from "vitest";
import { buildTokenizer } from "../../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../../src/builder/corpus.ts";
import { createTokenizer } from "../../src/runtime/tokenizer.ts";
// Written in Node by src/runtime/tokenizer.test.ts from transformers.js's output.
import fixture from "./tokenizer.fixture.json";

// Inside workerd: the builder and the runtime tokenizer load with normal imports (no Node APIs, no
// module-scope randomness) and give the ids transformers.js gives in Node.
describe("tokenizer inside workerd", () => {
  const built = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: fixture.vocabSize });
  const tok = createTokenizer(built);

  it("builds byte for byte the tokenizer Node builds", async () => {
    const bytes = new TextEncoder().encode(JSON.stringify([built.tokenizerJson, built.tokenizerConfig]));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    expect(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")).toBe(fixture.tokenizerSha256);
  });

  it("encodes like transformers.js in Node", () => {
    for (const { text, ids } of fixture.encode) expect(tok.encode(text, { addSpecialTokens: false }), text).toEqual(ids);
  });

  it("renders and tokenizes chat prompts like transformers.js in Node", () => {
    for (const { messages, text, ids } of fixture.chat) {
      expect(tok.applyChatTemplate(messages, { addGenerationPrompt: true })).toEqual({ text, ids });
    }
  });

  it("streams back the text of the ids", () => {
    for (const { text, ids } of fixture.encode) {
      const stream = tok.createDecoderStream();
      expect(ids.map((id) => stream.push(id)).join("") + stream.flush()).toBe(text);
    }
  });
});
