import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BYTE_TO_CHAR, buildTokenizer, type BuiltTokenizer } from "../builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../builder/corpus.ts";
import { LoraEdgeError } from "../errors.ts";
import { createRng, type Rng } from "../../test/reference/random.ts";
import { createTokenizer, type ChatMessage, type ChatTokenizer } from "./tokenizer.ts";

// transformers.js is the oracle; only its tokenizer code runs (no ONNX), and it loads lazily.
type Transformers = typeof import("@huggingface/transformers");
let hf: Transformers;
beforeAll(async () => {
  hf = await import("@huggingface/transformers");
});

const built = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 });

/** Files for the three tokenizer styles the runtime must serve; all derived from the demo build. */
const STYLES = {
  chatml: { tokenizerJson: built.tokenizerJson, tokenizerConfig: built.tokenizerConfig },
  llama3: llama3Style(built),
  llama2: llama2Style(built),
} as const;

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: "user", content: "Where is my order 48213? It was due on Monday." }],
  [
    { role: "system", content: "You are a helpful support agent for an online store." },
    { role: "user", content: "My package arrived damaged 😞 — can I get a refund?" },
    { role: "assistant", content: "I'm sorry to hear that! Could you share a photo of the box?" },
    { role: "user", content: "Sure, here it is.\n\nAlso: the receipt says 42,90 €." },
  ],
  [
    { role: "system", content: "Answer in one sentence.   Be precise." },
    { role: "user", content: "  What does status 429 mean?  " },
    { role: "assistant", content: "It means the rate limit was exceeded." },
    { role: "user", content: "Und auf Deutsch? 日本語でも? Ça marche?" },
  ],
  [
    { role: "system", content: "Sales assistant." },
    { role: "user", content: "Is 'Plus' worth it vs. Basic?" },
    { role: "assistant", content: "For teams over 10 users, yes: reporting + workflows." },
    { role: "user", content: "Quote: 50 seats × $29 → ?" },
  ],
];

/** Random valid Unicode: letters, accents (pre-composed and combining), CJK, emoji with ZWJ, whitespace runs. */
function randomText(rng: Rng, maxPieces = 24): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.uniform() * xs.length)]!;
  const range = (lo: number, hi: number) => String.fromCodePoint(lo + Math.floor(rng.uniform() * (hi - lo + 1)));
  const pieces = [
    () => pick(["refund", "order", "the", "Hello", "support", "API", "don't", "we'll", "isn't"]),
    () => range(0x61, 0x7a).repeat(1 + Math.floor(rng.uniform() * 6)),
    () => String(Math.floor(rng.uniform() * 100_000)),
    () => pick([" ", "  ", "   ", "\n", "\n\n", "\t", " \t ", "\r\n", "    \n"]),
    () => pick([".", ",", "!", "?", " .", " ,", " 's", " n't", " ' ", "'", "—", "…", "«»", "(", ")", "$", "€"]),
    () => pick(["é", "è", "ü", "ñ", "ç", "Å", "ø", "ß", "e\u0301", "a\u0308\u0301", "İ", "ǅ"]),
    () => range(0x4e00, 0x9fff) + range(0x3041, 0x3096),
    () => range(0x1f300, 0x1f64f),
    () => pick(["👩‍💻", "🇫🇷", "👍🏽", "❤️", "🧑‍🤝‍🧑"]),
    () => range(0x0400, 0x04ff) + range(0x0600, 0x06ff) + range(0x0900, 0x097f),
    () => range(0x10000, 0x10ffff - 2), // astral planes, incl. unassigned code points
  ];
  let s = "";
  const n = 1 + Math.floor(rng.uniform() * maxPieces);
  for (let i = 0; i < n; i++) s += pick(pieces)();
  return s;
}

const rng = createRng(20260429);
const TEXTS = Array.from({ length: 150 }, () => randomText(rng));

describe.each(Object.keys(STYLES) as (keyof typeof STYLES)[])("createTokenizer (%s style)", (style) => {
  const files = STYLES[style];
  const tok = createTokenizer(files);
  const oracle = () => new hf.PreTrainedTokenizer(files.tokenizerJson, files.tokenizerConfig);

  it("encodes like transformers.js, with and without special tokens", () => {
    const ref = oracle();
    for (const text of TEXTS) {
      expect(tok.encode(text, { addSpecialTokens: false }), text).toEqual(ref.encode(text, { add_special_tokens: false }));
      expect(tok.encode(text), text).toEqual(ref.encode(text));
    }
  });

  it("renders and tokenizes chat prompts like transformers.js apply_chat_template", () => {
    const ref = oracle();
    for (const messages of CONVERSATIONS) {
      const { text, ids } = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
      expect(text).toBe(ref.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }));
      expect(ids).toEqual(ref.apply_chat_template(messages, { tokenize: true, add_generation_prompt: true, return_tensor: false, return_dict: false }));
      const closed = tok.applyChatTemplate(messages, { addGenerationPrompt: false }).text;
      expect(closed).toBe(ref.apply_chat_template(messages, { tokenize: false, add_generation_prompt: false }));
    }
  });

  it("decodes like transformers.js, skipping special tokens on request", () => {
    const ref = oracle();
    for (const messages of CONVERSATIONS) {
      const { ids } = tok.applyChatTemplate(messages);
      for (const skip of [false, true]) {
        expect(tok.decode(ids, { skipSpecialTokens: skip })).toBe(ref.decode(ids, { skip_special_tokens: skip }));
      }
    }
  });

  it("streams text whose concatenation is exactly decode(ids) and never emits U+FFFD for valid text", () => {
    for (const text of [...TEXTS, ...CONVERSATIONS.map((m) => tok.applyChatTemplate(m).text)]) {
      const ids = tok.encode(text);
      for (const skipSpecialTokens of [false, true]) {
        const stream = tok.createDecoderStream({ skipSpecialTokens });
        const chunks = ids.map((id) => stream.push(id));
        chunks.push(stream.flush());
        for (const chunk of chunks) expect(chunk, text).not.toContain("\uFFFD");
        expect(chunks.join(""), text).toBe(tok.decode(ids, { skipSpecialTokens }));
      }
    }
  });

  it("holds back a character split across byte tokens until it is complete", () => {
    const ids = tok.encode("🧑‍🤝‍🧑", { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(1);
    const stream = tok.createDecoderStream();
    const chunks = ids.map((id) => stream.push(id));
    expect(chunks.slice(0, -1).join("") + chunks.at(-1)! + stream.flush()).toBe(tok.decode(ids));
    expect(chunks.some((c) => c === "")).toBe(true);
  });

  it("returns the rows an embedding needs and the end-of-turn ids", () => {
    expect(tok.vocabSize).toBe(Math.max(...oracle().get_vocab().values()) + 1);
    for (const id of tok.eosTokenIds) expect(tok.decode([id])).not.toBe("");
  });
});

describe("createTokenizer on the demo tokenizer", () => {
  const tok = createTokenizer({ ...STYLES.chatml, generationConfig: { eos_token_id: [built.specialTokens["<|endoftext|>"]] } });

  it("round-trips random Unicode through encode and decode", () => {
    for (const text of TEXTS) expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode([])).toBe("");
  });

  it("ends generation on <|im_end|> and on generation_config's eos ids", () => {
    expect(tok.eosTokenIds).toEqual([built.specialTokens["<|im_end|>"], built.specialTokens["<|endoftext|>"]]);
    expect(tok.vocabSize).toBe(built.vocabSize);
  });

  it("renders ChatML with the assistant generation prompt", () => {
    const { text } = tok.applyChatTemplate([
      { role: "system", content: "S" },
      { role: "user", content: "U" },
    ]);
    expect(text).toBe("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
  });

  it("gives the same prompt ids as AutoTokenizer.from_pretrained on the files written to disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lora-edge-tok-"));
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(built.tokenizerJson));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(built.tokenizerConfig));
    hf.env.allowRemoteModels = false;
    hf.env.localModelPath = "";
    const ref = await hf.AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    for (const messages of CONVERSATIONS) {
      const expected = ref.apply_chat_template(messages, { tokenize: true, add_generation_prompt: true, return_tensor: false, return_dict: false });
      expect(tok.applyChatTemplate(messages).ids).toEqual(expected);
    }
  });
});

describe("the workerd fixture (test/worker/tokenizer.fixture.json)", () => {
  it("holds transformers.js's ids and prompts for the demo tokenizer built from DEFAULT_CORPUS", async () => {
    const ref = new hf.PreTrainedTokenizer(built.tokenizerJson, built.tokenizerConfig);
    const texts = TEXTS.slice(0, 40);
    const fixture = {
      generatedBy: "src/runtime/tokenizer.test.ts (vitest -u rewrites it)",
      vocabSize: 2048,
      tokenizerSha256: await sha256(JSON.stringify([built.tokenizerJson, built.tokenizerConfig])),
      encode: texts.map((text) => ({ text, ids: ref.encode(text, { add_special_tokens: false }) })),
      chat: CONVERSATIONS.map((messages) => ({
        messages,
        text: ref.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }),
        ids: ref.apply_chat_template(messages, { tokenize: true, add_generation_prompt: true, return_tensor: false, return_dict: false }),
      })),
    };
    // One line per id list keeps the file readable and its diffs small.
    const json = JSON.stringify(fixture, null, 1).replace(/\[\s+([\d,\s]+?)\s+\]/g, (_, ids: string) => `[${ids.replace(/\s+/g, "")}]`);
    await expect(json + "\n").toMatchFileSnapshot("../../test/worker/tokenizer.fixture.json");
  });
});

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("createTokenizer input checks", () => {
  const error = (f: () => unknown): LoraEdgeError => {
    try {
      f();
    } catch (e) {
      if (e instanceof LoraEdgeError) return e;
      throw e;
    }
    throw new Error("expected a LoraEdgeError");
  };

  it("names the file and field when tokenizer_config.json has no chat_template", () => {
    const { chat_template: _, ...config } = built.tokenizerConfig;
    const e = error(() => createTokenizer({ tokenizerJson: built.tokenizerJson, tokenizerConfig: config }));
    expect([e.status, e.code, e.param]).toEqual([500, "invalid_model_package", "tokenizer_config.json:chat_template"]);
    expect(e.message).toMatch(/tokenizer_config\.json.*chat_template/);
  });

  it("rejects an eos_token that is not in the vocabulary", () => {
    const e = error(() => createTokenizer({ tokenizerJson: built.tokenizerJson, tokenizerConfig: { ...built.tokenizerConfig, eos_token: "</s>" } }));
    expect(e.param).toBe("tokenizer_config.json:eos_token");
  });

  it("rejects a tokenizer.json without a model, and a bad generation_config.json", () => {
    const { model: _, ...json } = built.tokenizerJson;
    expect(error(() => createTokenizer({ tokenizerJson: json, tokenizerConfig: built.tokenizerConfig })).param).toBe("tokenizer.json:model");
    const bad = { ...STYLES.chatml, generationConfig: { eos_token_id: "2" } };
    expect(error(() => createTokenizer(bad)).param).toBe("generation_config.json:eos_token_id");
  });

  it("reads generation_config.json's sampling (do_sample: false is greedy) and refuses values out of range", () => {
    const defaults = (generationConfig?: object) => createTokenizer({ ...STYLES.chatml, ...(generationConfig ? { generationConfig } : {}) }).samplingDefaults;
    expect(defaults()).toEqual({});
    expect(defaults({ eos_token_id: 2 })).toEqual({});
    expect(defaults({ do_sample: true, temperature: 0.2, top_p: 0.9, top_k: 40 })).toEqual({ temperature: 0.2, topP: 0.9, topK: 40 });
    expect(defaults({ do_sample: false, temperature: 0.7 })).toEqual({ temperature: 0 });
    expect(defaults({ temperature: null, top_p: null, top_k: 20 })).toEqual({ topK: 20 }); // older files write nulls
    expect(error(() => defaults({ temperature: 3 })).param).toBe("generation_config.json:temperature");
    expect(error(() => defaults({ top_p: 0 })).param).toBe("generation_config.json:top_p");
  });

  it("turns a template's raise_exception into a 400 about the messages", () => {
    const tok = createTokenizer(STYLES.llama2);
    const e = error(() => tok.applyChatTemplate([{ role: "assistant", content: "hi" }]));
    expect([e.status, e.param]).toEqual([400, "messages"]);
    expect(e.message).toContain("alternate");
  });
});

/**
 * Llama-3's layout on the demo vocabulary: a Split pre-tokenizer with Llama-3's regex before a
 * regex-less ByteLevel, `<|begin_of_text|>` added by a TemplateProcessing post-processor, header
 * tokens in the template, and clean-up of tokenization spaces on (as Meta ships it).
 */
function llama3Style({ tokenizerJson }: BuiltTokenizer) {
  const base = Object.keys(tokenizerJson.model.vocab).length;
  const specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
  const added_tokens = specials.map((content, i) => ({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false };
  return {
    tokenizerJson: {
      ...tokenizerJson,
      added_tokens,
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          {
            type: "Split",
            pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
            behavior: "Isolated",
            invert: false,
          },
          byteLevel,
        ],
      },
      post_processor: {
        type: "Sequence",
        processors: [
          byteLevel,
          {
            type: "TemplateProcessing",
            single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
            pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
            special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [base], tokens: ["<|begin_of_text|>"] } },
          },
        ],
      },
      decoder: byteLevel,
    },
    tokenizerConfig: {
      bos_token: "<|begin_of_text|>",
      eos_token: "<|eot_id|>",
      clean_up_tokenization_spaces: true,
      model_max_length: 131072,
      tokenizer_class: "PreTrainedTokenizerFast",
      chat_template:
        "{{- bos_token }}{%- for message in messages %}" +
        "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}" +
        "{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
    },
  };
}

/**
 * Llama-2's SentencePiece layout on the demo merges: spaces become "▁" (Prepend + Replace normalizer,
 * no pre-tokenizer), characters outside the vocabulary fall back to `<0xXX>` byte tokens, the decoder
 * is Replace/ByteFallback/Fuse/Strip, special tokens are `{__type: "AddedToken"}` objects, and the
 * template raises on roles that do not alternate.
 */
function llama2Style({ tokenizerJson }: BuiltTokenizer) {
  const charToByte = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const piece = (token: string): string | null => {
    try {
      return utf8.decode(Uint8Array.from(Array.from(token, (c) => charToByte.get(c)!))).replaceAll(" ", "▁");
    } catch {
      return null; // a partial UTF-8 sequence has no SentencePiece counterpart
    }
  };
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  const add = (p: string) => (vocab[p] ??= Object.keys(vocab).length);
  const merges: string[] = [];
  for (const merge of tokenizerJson.model.merges) {
    const [a, b] = merge.split(" ").map(piece) as [string | null, string | null];
    if (a === null || b === null || [...a, ...b].length < 2) continue;
    for (const p of [a, b]) if ([...p].length === 1) add(p);
    if (vocab[a] === undefined || vocab[b] === undefined) continue;
    add(a + b);
    merges.push(`${a} ${b}`);
  }
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const configToken = (content: string) => ({ __type: "AddedToken", content, lstrip: false, normalized: false, rstrip: false, single_word: false });
  return {
    tokenizerJson: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Prepend", prepend: "▁" },
          { type: "Replace", pattern: { String: " " }, content: "▁" },
        ],
      },
      pre_tokenizer: null,
      post_processor: {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
      },
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "Replace", pattern: { String: "▁" }, content: " " },
          { type: "ByteFallback" },
          { type: "Fuse" },
          { type: "Strip", content: " ", start: 1, stop: 0 },
        ],
      },
      model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges },
    },
    tokenizerConfig: {
      add_bos_token: true,
      add_eos_token: false,
      bos_token: configToken("<s>"),
      eos_token: configToken("</s>"),
      unk_token: configToken("<unk>"),
      pad_token: null,
      clean_up_tokenization_spaces: true,
      legacy: false,
      model_max_length: 4096,
      tokenizer_class: "LlamaTokenizer",
      chat_template:
        "{% if messages[0]['role'] == 'system' %}{% set system = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% set messages = messages[1:] %}{% else %}{% set system = '' %}{% endif %}" +
        "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + (system if loop.first else '') + message['content'] | trim + ' [/INST]' }}" +
        "{% else %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}",
    },
  };
}
