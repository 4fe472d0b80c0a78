/**
 * The runtime tokenizer: a model package's `tokenizer.json` + `tokenizer_config.json` (+ optional
 * `generation_config.json`) turned into encode / decode / chat template / streaming detokenization.
 *
 * Built on `@huggingface/tokenizers` and `@huggingface/jinja` (the pieces `@huggingface/transformers`
 * uses inside), imported normally: `@huggingface/transformers` itself crashes workerd at module scope
 * and is ~5× larger (bench/tokenizer.md). Works for ByteLevel BPE (GPT-2, Llama-3, Qwen2, SmolLM)
 * and SentencePiece-style (Llama-2: Metaspace/Replace + ByteFallback) tokenizer files alike.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { z } from "zod";
import { LoraEdgeError } from "../errors.ts";

/** One chat turn as the template sees it; extra fields (e.g. `tool_calls`) pass through to the template. */
export interface ChatMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

/** Turns token ids into text as they arrive, never splitting a character. */
export interface DecoderStream {
  /** Adds one id; returns the text that is now complete (often "", e.g. mid-way through a UTF-8 character). */
  push(id: number): string;
  /** Returns whatever is still held back; call once at the end of generation. */
  flush(): string;
}

export interface ChatTokenizer {
  /** Token ids of `text`; `addSpecialTokens` (default true, as in Hugging Face) runs the post-processor, e.g. Llama-2's `<s>`. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`, with the tokenizer's own clean-up setting. */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** Renders `messages` with the package's chat template and tokenizes the result without adding special tokens. */
  applyChatTemplate(
    messages: readonly ChatMessage[],
    opts?: { addGenerationPrompt?: boolean; variables?: Record<string, unknown> },
  ): { text: string; ids: number[] };
  /** A fresh streaming detokenizer; concatenating its output equals `decode(all ids, opts)`. */
  createDecoderStream(opts?: { skipSpecialTokens?: boolean }): DecoderStream;
  /** Id of a token string, e.g. `"<|im_end|>"`, if the vocabulary has it. */
  tokenToId(token: string): number | undefined;
  /** Ids that end generation: `eos_token` of tokenizer_config.json, then generation_config.json's `eos_token_id`s. */
  readonly eosTokenIds: readonly number[];
  /** One more than the largest id, i.e. the rows an embedding matrix needs. */
  readonly vocabSize: number;
  /** `model_max_length` of tokenizer_config.json, or null when absent. */
  readonly modelMaxLength: number | null;
  /** generation_config.json's sampling fields, for requests that leave them out (`SamplingDefaults`). */
  readonly samplingDefaults: SamplingDefaults;
}

export interface TokenizerFiles {
  /** Parsed `tokenizer.json`. */
  tokenizerJson: unknown;
  /** Parsed `tokenizer_config.json`; must carry `chat_template`. */
  tokenizerConfig: unknown;
  /** Parsed `generation_config.json`, when the package has one. */
  generationConfig?: unknown;
}

// `bos_token` & co. are strings, `{content}` objects (older files: `{"__type": "AddedToken", ...}`) or null.
const tokenField = z.union([z.string(), z.looseObject({ content: z.string() }), z.null()]).optional();
const namedTemplates = z.array(z.object({ name: z.string(), template: z.string() }));
const tokenizerConfigSchema = z.looseObject({
  chat_template: z.union([z.string().min(1), namedTemplates, z.record(z.string(), z.string())], {
    error: (issue) =>
      issue.input === undefined ? "has no chat_template; the runtime only serves chat models" : "chat_template must be a Jinja string",
  }),
  bos_token: tokenField,
  eos_token: tokenField,
  unk_token: tokenField,
  sep_token: tokenField,
  pad_token: tokenField,
  cls_token: tokenField,
  mask_token: tokenField,
  model_max_length: z.number().optional(),
  clean_up_tokenization_spaces: z.boolean().optional(),
});
const tokenizerJsonSchema = z.looseObject({
  model: z.looseObject({ type: z.string().optional(), vocab: z.unknown() }),
  added_tokens: z.array(z.looseObject({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean() })),
  normalizer: z.unknown(),
  pre_tokenizer: z.unknown(),
  post_processor: z.unknown(),
  decoder: z.unknown(),
});
const generationConfigSchema = z.looseObject({
  eos_token_id: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()), z.null()]).optional(),
  // sampling the model's authors recommend (transformers' GenerationConfig fields)
  do_sample: z.boolean().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().nonnegative().nullish(),
});

/**
 * The sampling a request gets for what it leaves out, from generation_config.json: the fields the
 * file sets, as vLLM's OpenAI server applies a model's generation config (`do_sample: false` means
 * greedy, as in transformers). Unset fields keep the API's defaults (temperature 1, no top-k/top-p).
 */
export interface SamplingDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
}

/** The special-token variables transformers.js hands every chat template, in its order. */
const TEMPLATE_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;

/**
 * Builds the runtime tokenizer from a model package's tokenizer files, validating them first.
 * Throws `LoraEdgeError` (500, `invalid_model_package`, `param` = file and field) on bad files.
 *
 * @example
 * const tok = createTokenizer({ tokenizerJson, tokenizerConfig, generationConfig });
 * const { ids } = tok.applyChatTemplate([{ role: "user", content: "Where is my order?" }]);
 * const stream = tok.createDecoderStream({ skipSpecialTokens: true });
 * for (const id of generated) out += stream.push(id); out += stream.flush();
 */
export function createTokenizer(files: TokenizerFiles): ChatTokenizer {
  const json = parseFile(tokenizerJsonSchema, files.tokenizerJson, "tokenizer.json");
  const config = parseFile(tokenizerConfigSchema, files.tokenizerConfig, "tokenizer_config.json");
  const generation =
    files.generationConfig === undefined ? undefined : parseFile(generationConfigSchema, files.generationConfig, "generation_config.json");

  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (cause) {
    throw packageError("tokenizer.json", `tokenizer.json is not a tokenizer the runtime can load: ${String(cause)}`, cause);
  }
  let template: Template;
  try {
    template = new Template(chatTemplateOf(config.chat_template));
  } catch (cause) {
    throw packageError("tokenizer_config.json:chat_template", `chat_template does not parse: ${String(cause)}`, cause);
  }

  const templateTokens: Record<string, string> = {};
  for (const key of TEMPLATE_TOKENS) {
    const value = tokenContent(config[key]);
    if (value) templateTokens[key] = value;
  }

  const eosTokenIds: number[] = [];
  const eosToken = templateTokens["eos_token"];
  if (eosToken !== undefined) {
    const id = tokenizer.token_to_id(eosToken);
    if (id === undefined) throw packageError("tokenizer_config.json:eos_token", `eos_token ${JSON.stringify(eosToken)} is not in tokenizer.json's vocabulary`);
    eosTokenIds.push(id);
  }
  for (const id of [generation?.eos_token_id ?? []].flat()) if (!eosTokenIds.includes(id)) eosTokenIds.push(id);

  let maxId = -1;
  for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const cleanUp = config.clean_up_tokenization_spaces ?? true; // the library's default, so decode() agrees with transformers

  const encode = (text: string, { addSpecialTokens = true }: { addSpecialTokens?: boolean } = {}) =>
    tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  // The library throws on an empty list; no tokens is simply no text.
  const decodeRaw = (ids: readonly number[], skipSpecialTokens: boolean, cleanUpSpaces: boolean) =>
    ids.length === 0 ? "" : tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: cleanUpSpaces });

  return {
    encode,
    decode: (ids, { skipSpecialTokens = false } = {}) => decodeRaw(ids, skipSpecialTokens, cleanUp),
    applyChatTemplate(messages, { addGenerationPrompt = true, variables = {} } = {}) {
      let text: string;
      try {
        // Same context transformers.js builds in apply_chat_template, so the prompt matches it exactly.
        text = template.render({
          messages,
          add_generation_prompt: addGenerationPrompt,
          tools: null,
          documents: null,
          ...templateTokens,
          ...variables,
        });
      } catch (cause) {
        // Templates reject conversations with raise_exception (e.g. roles that do not alternate): the caller's fault.
        throw new LoraEdgeError(400, "invalid_messages", `The model's chat template rejected the messages: ${errorMessage(cause)}`, { param: "messages", cause });
      }
      return { text, ids: encode(text, { addSpecialTokens: false }) };
    },
    createDecoderStream: ({ skipSpecialTokens = false } = {}) =>
      createDecoderStream((ids) => decodeRaw(ids, skipSpecialTokens, false), cleanUp),
    tokenToId: (token) => tokenizer.token_to_id(token),
    eosTokenIds,
    vocabSize: maxId + 1,
    modelMaxLength: config.model_max_length ?? null,
    samplingDefaults: samplingDefaultsOf(generation),
  };
}

/**
 * Incremental detokenization over a sliding window of ids (as text-generation-inference does): decode
 * the ids since the last emitted boundary with and without the new one, and emit the difference once
 * it does not end in U+FFFD, i.e. once a UTF-8 character split across byte tokens is complete.
 * Decoding a window rather than one token keeps decoders that look at neighbours right (Metaspace
 * drops the leading space of the first token only). Clean-up of spaces runs after, on whole text.
 */
function createDecoderStream(decode: (ids: readonly number[]) => string, cleanUp: boolean): DecoderStream {
  const ids: number[] = [];
  let prefixOffset = 0; // window start: the previous emitted boundary
  let readOffset = 0; // ids up to here are emitted
  const cleaner = cleanUp ? createCleanUpStream() : null;

  const step = (final: boolean): string => {
    const prefixText = decode(ids.slice(prefixOffset, readOffset));
    const newText = decode(ids.slice(prefixOffset));
    if (newText.length <= prefixText.length || (!final && newText.endsWith("\uFFFD"))) return "";
    prefixOffset = readOffset;
    readOffset = ids.length;
    return newText.slice(prefixText.length);
  };
  return {
    push(id) {
      ids.push(id);
      const text = step(false);
      return cleaner ? cleaner.push(text) : text;
    },
    flush() {
      const text = step(true);
      return cleaner ? cleaner.push(text) + cleaner.flush() : text;
    },
  };
}

/**
 * Hugging Face's `clean_up_tokenization` (" ." → ".", " n't" → "n't", ...) applied to streamed text.
 * Every pattern starts with a space and is at most 4 characters long, so text can be released up to
 * any point with no space among the 3 characters before it: no pattern can straddle that point.
 */
function createCleanUpStream(): { push(text: string): string; flush(): string } {
  let held = "";
  return {
    push(text) {
      held += text;
      let cut = held.length;
      while (cut > 0 && held.slice(Math.max(0, cut - 3), cut).includes(" ")) cut--;
      const out = cleanUpTokenization(held.slice(0, cut));
      held = held.slice(cut);
      return out;
    },
    flush() {
      const out = cleanUpTokenization(held);
      held = "";
      return out;
    },
  };
}

/** The exact replacement chain of Hugging Face tokenizers' `clean_up_tokenization`. */
function cleanUpTokenization(text: string): string {
  return text
    .replace(/ \./g, ".")
    .replace(/ \?/g, "?")
    .replace(/ !/g, "!")
    .replace(/ ,/g, ",")
    .replace(/ ' /g, "'")
    .replace(/ n't/g, "n't")
    .replace(/ 'm/g, "'m")
    .replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve")
    .replace(/ 're/g, "'re");
}

/** A config's chat_template: a string, or a list / map of named templates of which "default" is used. */
function chatTemplateOf(value: z.infer<typeof tokenizerConfigSchema>["chat_template"]): string {
  if (typeof value === "string") return value;
  const named = Array.isArray(value) ? Object.fromEntries(value.map((t) => [t.name, t.template])) : value;
  const found = named["default"];
  if (found === undefined) {
    throw packageError("tokenizer_config.json:chat_template", `chat_template has no "default" entry (has: ${Object.keys(named).join(", ")})`);
  }
  return found;
}

function tokenContent(value: z.infer<typeof tokenField>): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : value.content;
}

function parseFile<T extends z.ZodType>(schema: T, value: unknown, file: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join(".");
  throw packageError(field ? `${file}:${field}` : file, `${file}${field ? ` field ${field}` : ""}: ${issue.message}`);
}

function packageError(param: string, message: string, cause?: unknown): LoraEdgeError {
  return new LoraEdgeError(500, "invalid_model_package", message, { param, cause });
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function samplingDefaultsOf(generation: z.infer<typeof generationConfigSchema> | undefined): SamplingDefaults {
  if (!generation) return {};
  if (generation.do_sample === false) return { temperature: 0 };
  return {
    ...(generation.temperature != null ? { temperature: generation.temperature } : {}),
    ...(generation.top_p != null ? { topP: generation.top_p } : {}),
    ...(generation.top_k != null ? { topK: generation.top_k } : {}),
  };
}
