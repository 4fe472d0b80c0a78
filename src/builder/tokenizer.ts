/**
 * Trains the small byte-level BPE tokenizer of the embedded demo model and writes it as Hugging Face
 * `tokenizer.json` + `tokenizer_config.json` (ChatML template), the files a model package carries.
 *
 * The trainer is hand-written: no maintained JavaScript BPE *trainer* exists (`@huggingface/tokenizers`
 * only encodes and decodes), and the Python/Rust one would make the builder leave Node. It uses no
 * Node APIs, so the same code builds a tokenizer inside workerd tests too.
 */

/** The three special tokens, in id order after the BPE vocabulary (as Qwen2 / SmolLM place them). */
export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/**
 * ChatML, as Qwen2 and SmolLM use it: `<|im_start|>role\ncontent<|im_end|>\n` per message, and
 * `<|im_start|>assistant\n` as the generation prompt. No default system message: the caller decides.
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}" +
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/** GPT-2's pre-tokenizer split, the one the ByteLevel pre-tokenizer applies with `use_regex: true`. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The subset of Hugging Face `tokenizer.json` this builder writes. */
export interface ByteLevelBpeTokenizerJson {
  version: "1.0";
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: { type: "ByteLevel"; add_prefix_space: false; trim_offsets: boolean; use_regex: true };
  post_processor: { type: "ByteLevel"; add_prefix_space: false; trim_offsets: boolean; use_regex: true };
  decoder: { type: "ByteLevel"; add_prefix_space: false; trim_offsets: boolean; use_regex: true };
  model: BpeModelJson;
}

/** `tokenizer.json`'s `model`: a byte-level BPE with no unknown token, dropout or fallback. */
export type BpeModelJson = ReturnType<typeof bpeModel>;

/** @example bpeModel({ "a": 0, "b": 1, "ab": 2 }, ["a b"]) */
export function bpeModel(vocab: Record<string, number>, merges: string[]) {
  return {
    type: "BPE" as const,
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false as const,
    byte_fallback: false as const,
    ignore_merges: false as const,
    vocab,
    merges,
  };
}

/** The `tokenizer_config.json` this builder writes (Qwen2-style keys). */
export interface ChatTokenizerConfig {
  add_bos_token: false;
  add_prefix_space: false;
  added_tokens_decoder: Record<string, Omit<AddedTokenJson, "id">>;
  additional_special_tokens: string[];
  bos_token: null;
  chat_template: string;
  clean_up_tokenization_spaces: false;
  eos_token: string;
  errors: "replace";
  model_max_length: number;
  pad_token: string;
  split_special_tokens: false;
  tokenizer_class: "PreTrainedTokenizerFast";
  unk_token: null;
}

export interface BuiltTokenizer {
  tokenizerJson: ByteLevelBpeTokenizerJson;
  tokenizerConfig: ChatTokenizerConfig;
  /** Ids of the special tokens, plus the roles the model package needs (`eos`, `pad`). */
  specialTokens: Record<SpecialToken, number> & { eos: number; pad: number };
  /** Vocabulary size including the special tokens; at most the requested `vocabSize`. */
  vocabSize: number;
}

export interface BuildTokenizerOptions {
  /** Training text. Byte-level, so any Unicode is fine; the 256 byte symbols are always in the vocab. */
  corpus: string;
  /** Target size including the 256 byte symbols and the 3 special tokens. Smaller if the corpus runs out of pairs. */
  vocabSize: number;
  /** Written as `model_max_length`; default 2048. */
  modelMaxLength?: number;
}

/**
 * Trains a byte-level BPE tokenizer on `corpus` and returns its Hugging Face files. Deterministic:
 * the same corpus and size give the same JSON bytes.
 *
 * @example
 * const { tokenizerJson, tokenizerConfig } = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 });
 * writeFileSync("tokenizer.json", JSON.stringify(tokenizerJson));
 */
export function buildTokenizer({ corpus, vocabSize, modelMaxLength = 2048 }: BuildTokenizerOptions): BuiltTokenizer {
  const minSize = 256 + SPECIAL_TOKENS.length;
  if (!Number.isInteger(vocabSize) || vocabSize < minSize || vocabSize > 65_536) {
    throw new RangeError(`vocabSize must be an integer in [${minSize}, 65536], got ${vocabSize}`);
  }
  const { symbols, merges } = trainByteLevelBpe(corpus, vocabSize - SPECIAL_TOKENS.length);

  const vocab: Record<string, number> = {};
  symbols.forEach((s, id) => (vocab[s] = id));
  const added_tokens: AddedTokenJson[] = SPECIAL_TOKENS.map((content, i) => ({
    id: symbols.length + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const ids = Object.fromEntries(added_tokens.map((t) => [t.content, t.id])) as Record<SpecialToken, number>;
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true } as const;

  const tokenizerJson: ByteLevelBpeTokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: bpeModel(vocab, merges.map(([a, b]) => `${a} ${b}`)),
  };
  const tokenizerConfig: ChatTokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(added_tokens.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: ["<|im_start|>", "<|im_end|>"],
    bos_token: null,
    chat_template: CHATML_TEMPLATE,
    // Off, as in Qwen2: the clean-up rewrites " ." to "." and would break encode→decode round trips.
    clean_up_tokenization_spaces: false,
    eos_token: "<|im_end|>",
    errors: "replace",
    model_max_length: modelMaxLength,
    pad_token: "<|endoftext|>",
    split_special_tokens: false,
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: null,
  };
  return {
    tokenizerJson,
    tokenizerConfig,
    specialTokens: { ...ids, eos: ids["<|im_end|>"], pad: ids["<|endoftext|>"] },
    vocabSize: symbols.length + SPECIAL_TOKENS.length,
  };
}

/**
 * GPT-2's reversible byte → printable-character map: printable Latin-1 bytes map to themselves, the
 * rest to U+0100.., so every byte string is a JSON-safe, whitespace-free token string.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(keep(b) ? b : next++));
})();

interface Trained {
  /** Token strings by id: the 256 byte symbols, then one per new merged string. */
  symbols: string[];
  /** Merges in rank order, as pairs of token strings. */
  merges: [string, string][];
}

/**
 * Classic BPE training: count pre-tokenized words, then repeatedly merge the most frequent adjacent
 * pair. Ties go to the pair whose (left id, right id) is smallest, so the result is deterministic.
 * Only words that contain the merged pair are revisited, which keeps 200 KB / 2048 tokens in ~1 s.
 */
function trainByteLevelBpe(corpus: string, maxSymbols: number): Trained {
  const symbols = [...BYTE_TO_CHAR];
  const idOf = new Map(symbols.map((s, i) => [s, i]));
  const merges: [string, string][] = [];

  // words: distinct pre-tokens as byte-symbol ids, with their counts
  const wordCounts = new Map<string, number>();
  const bytes = new TextEncoder();
  for (const piece of corpus.match(GPT2_SPLIT) ?? []) wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1);
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, n] of wordCounts) {
    words.push(Array.from(bytes.encode(piece)));
    freq.push(n);
  }

  // pair (a, b) → key a * 65536 + b; counts weighted by word frequency, and which words hold it
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1) => {
    const word = words[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * 65_536 + word[i + 1]!;
      const n = (pairCount.get(key) ?? 0) + sign * freq[w]!;
      if (n === 0) pairCount.delete(key);
      else pairCount.set(key, n);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  while (symbols.length < maxSymbols && pairCount.size > 0) {
    // most frequent pair; smallest key on ties
    let best = -1;
    let bestCount = 0;
    for (const [key, n] of pairCount) {
      if (n > bestCount || (n === bestCount && key < best)) [best, bestCount] = [key, n];
    }
    const a = Math.floor(best / 65_536);
    const b = best % 65_536;
    const merged = symbols[a]! + symbols[b]!;
    // Two different pairs can spell the same string ("ab"+"c", "a"+"bc"): reuse its id, as HF does.
    let c = idOf.get(merged);
    if (c === undefined) {
      c = symbols.length;
      symbols.push(merged);
      idOf.set(merged, c);
    }
    merges.push([symbols[a]!, symbols[b]!]);

    for (const w of [...(pairWords.get(best) ?? [])].sort((x, y) => x - y)) {
      const word = words[w]!;
      if (!hasPair(word, a, b)) continue;
      addPairs(w, -1);
      words[w] = mergePair(word, a, b, c);
      addPairs(w, 1);
    }
    pairWords.delete(best);
  }
  return { symbols, merges };
}

function hasPair(word: number[], a: number, b: number): boolean {
  for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) return true;
  return false;
}

/** Replaces each non-overlapping (a, b), left to right, with c — the order BPE encoding applies it. */
function mergePair(word: number[], a: number, b: number, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
      out.push(c);
      i++;
    } else out.push(word[i]!);
  }
  return out;
}
