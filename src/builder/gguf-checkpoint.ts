/**
 * A llama.cpp GGUF file (architecture `llama`) read as the builder's checkpoint: the architecture from
 * the `llama.*` metadata, the weights dequantized under their Hugging Face names and layouts, and the
 * tokenizer files rebuilt from `tokenizer.ggml.*` and `tokenizer.chat_template`.
 *
 * What llama.cpp's converter changed is undone here: it permutes the rows of `attn_q`/`attn_k` so
 * that each head's rotary pairs are interleaved (GPT-J style, what llama.cpp's RoPE expects); the
 * graph uses Hugging Face's rotate-half RoPE, so the rows go back to halves. Tokenizers: byte-level
 * BPE (`tokenizer.ggml.model` "gpt2") with the pre-tokenizer `tokenizer.ggml.pre` names; others are
 * refused by name.
 */
import { readGguf, type Gguf, type GgufTensor, type GgufValue } from "./gguf.ts";
import { dequantizeGguf } from "./gguf-quants.ts";
import type { Int4Weight } from "./quantize.ts";
import { toFloat32 } from "../adapters/safetensors.ts";
import type { HfWeights } from "./llama-graph.ts";
import type { Architecture } from "../runtime/manifest.ts";
import { bpeModel, type AddedTokenJson } from "./tokenizer.ts";

export type GgufCheckpoint = {
  arch: Architecture;
  /** `general.name`, for the manifest's source. */
  modelName: string;
  /** Tensor count per ggml type, e.g. `{ Q4_1: 210, F32: 61, Q8_0: 1 }`. */
  tensorTypes: Record<string, number>;
  weights: HfWeights;
  /** Q4_0/Q4_1/Q8_0 linear weights by HF name, in MatMulNBits' layout, for the int4 format to carry exactly. */
  blocks: Map<string, Int4Weight>;
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  generationConfig: unknown;
  gguf: Gguf;
};

/**
 * HF's pre-tokenizer for each `tokenizer.ggml.pre` this builder knows, as llama.cpp's
 * llama-vocab.cpp defines them. `smollm` (with starcoder, refact, codeshell) splits every number
 * character into its own piece (`\p{N}`) and then applies GPT-2's split. Hugging Face's own files say
 * `Digits(individual_digits)`, which is `\p{N}` in Rust but only ASCII 0-9 in the JavaScript
 * tokenizer (½ and ١ differ), so the rule is written as a `Split` on `\p{N}`, the same in both.
 */
const BYTE_LEVEL = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true } as const;
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const EACH_NUMBER_THEN_GPT2 = {
  type: "Sequence",
  pretokenizers: [{ type: "Split", pattern: { Regex: "\\p{N}" }, behavior: "Isolated", invert: false }, BYTE_LEVEL],
};
const PRE_TOKENIZERS: Record<string, unknown> = {
  smollm: EACH_NUMBER_THEN_GPT2,
  starcoder: EACH_NUMBER_THEN_GPT2,
  refact: EACH_NUMBER_THEN_GPT2,
  codeshell: EACH_NUMBER_THEN_GPT2,
  gpt2: BYTE_LEVEL,
  default: BYTE_LEVEL,
  "llama-bpe": {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: LLAMA3_SPLIT }, behavior: "Isolated", invert: false },
      { ...BYTE_LEVEL, use_regex: false },
    ],
  },
};

/** llama.cpp tensor names → Hugging Face names (per layer). */
const LAYER_TENSORS: Record<string, string> = {
  attn_norm: "input_layernorm",
  ffn_norm: "post_attention_layernorm",
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
};
const GLOBAL_TENSORS: Record<string, string> = { token_embd: "model.embed_tokens", output_norm: "model.norm", output: "lm_head" };

/**
 * The shortest decimal that is the same float32 (GGUF stores eps 1e-5 as 9.99999974738e-6; writing
 * 1e-5 keeps the manifest readable and the graph's float32 attribute identical).
 */
function shortestFloat32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === Math.fround(x)) return y;
  }
  return x;
}

/**
 * Undo llama.cpp's Q/K row permutation. Per head of `hd` rows, the converter maps HF row
 * `s·hd/2 + i` (s = 0, 1: the two rotate-half halves) to GGUF row `2i + s`.
 */
export function unpermuteRows<T extends Float32Array | Uint8Array>(w: T, heads: number, cols: number): T {
  const rows = w.length / cols;
  const hd = rows / heads;
  const out = new (w.constructor as new (n: number) => T)(w.length);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < hd / 2; i++) {
        const src = (h * hd + 2 * i + s) * cols;
        out.set(w.subarray(src, src + cols), (h * hd + (s * hd) / 2 + i) * cols);
      }
    }
  }
  return out;
}

/**
 * A Q4_0, Q4_1 or Q8_0 tensor `[out, in]` in MatMulNBits' layout without re-quantizing, with the
 * op's default zero point — the form onnxruntime-node's fast kernels take (a float zero point, the
 * obvious way to carry Q4_1's minimum, makes a 4-bit product ~14× slower than fp32):
 * - Q4_0 `(q - 8)·d`: the values and scales as they are;
 * - Q4_1 `q·d + m = (q - 8)·d + (m + 8d)`: the values and scales, and `m + 8d` as the block's offset;
 * - Q8_0 `q·d`: 8-bit, stored as `q + 128` (the graph splits it into 4-bit halves to compute in fp32).
 * Other types: undefined.
 */
export function carryBlocks(t: GgufTensor): Int4Weight | undefined {
  if (t.type !== "Q4_0" && t.type !== "Q4_1" && t.type !== "Q8_0") return undefined;
  const [K, N] = [t.dims[0]!, t.dims.length > 1 ? t.dims[1]! : 1];
  const blocks = K / 32;
  const n = N * blocks;
  const b = t.data;
  const scales = new Float32Array(n);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const half = (at: number) => toFloat32({ dtype: "F16", shape: [1], data: b.subarray(at, at + 2) })[0]!;
  if (t.type === "Q8_0") {
    const packed = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) {
      scales[i] = half(i * 34);
      for (let j = 0; j < 32; j++) packed[i * 32 + j] = (view.getInt8(i * 34 + 2 + j) + 128) & 255;
    }
    return { packed, scales, K, N, blockSize: 32, bits: 8 };
  }
  const size = t.type === "Q4_1" ? 20 : 18;
  const qs = t.type === "Q4_1" ? 4 : 2;
  const packed = new Uint8Array(n * 16);
  const offsets = t.type === "Q4_1" ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const at = i * size;
    const d = half(at);
    // GGUF: value j is the low nibble of qs[j], value j+16 the high one; MatMulNBits: values 2e, 2e+1 share byte e
    const v = (e: number) => (e < 16 ? b[at + qs + e]! & 15 : b[at + qs + e - 16]! >> 4);
    scales[i] = d;
    if (offsets) offsets[i] = half(at + 2) + 8 * d; // two halves summed in float32 (exact unless their exponents are 13 apart)
    for (let e = 0; e < 16; e++) packed[i * 16 + e] = v(2 * e) | (v(2 * e + 1) << 4);
  }
  return { packed, scales, ...(offsets ? { offsets } : {}), K, N, blockSize: 32, bits: 4 };
}

/** Reorder the rows of a carried weight (q/k un-permutation) the way `unpermuteRows` reorders floats. */
function unpermuteCarried(c: Int4Weight, heads: number): Int4Weight {
  const rows = (x: Uint8Array | Float32Array) => unpermuteRows(x, heads, x.length / c.N);
  return {
    ...c,
    packed: rows(c.packed) as Uint8Array,
    scales: rows(c.scales) as Float32Array,
    ...(c.zeros ? { zeros: rows(c.zeros) } : {}),
    ...(c.offsets ? { offsets: rows(c.offsets) as Float32Array } : {}),
  };
}

/**
 * `onTensor(done, total)` reports progress while tensors are dequantized.
 *
 * @example const ckpt = readGgufCheckpoint(new Uint8Array(readFileSync("SmolLM2-135M-Instruct.Q4_1.gguf")));
 */
export function readGgufCheckpoint(bytes: Uint8Array, onTensor?: (done: number, total: number) => void): GgufCheckpoint {
  const gguf = readGguf(bytes);
  const meta = gguf.metadata;
  const get = (key: string): GgufValue => {
    const v = meta.get(key);
    if (v === undefined) throw new Error(`GGUF metadata has no ${key}`);
    return v;
  };
  const num = (key: string, fallback?: number): number => {
    const v = meta.get(key) ?? fallback;
    if (v === undefined) throw new Error(`GGUF metadata has no ${key}`);
    if (typeof v !== "number" && typeof v !== "bigint") throw new Error(`GGUF metadata ${key} is not a number`);
    return Number(v);
  };
  const archName = get("general.architecture");
  if (archName !== "llama") throw new Error(`GGUF general.architecture is "${String(archName)}"; supported: llama`);
  if (gguf.tensors.has("rope_freqs.weight")) throw new Error("GGUF has rope_freqs.weight (scaled RoPE, e.g. Llama 3.1+): not supported from GGUF yet; build from the Hugging Face checkpoint");
  const scaling = meta.get("llama.rope.scaling.type");
  if (scaling !== undefined && scaling !== "none") throw new Error(`GGUF llama.rope.scaling.type "${String(scaling)}" is not supported`);

  const d = num("llama.embedding_length");
  const H = num("llama.attention.head_count");
  const KV = num("llama.attention.head_count_kv", H);
  const embd = gguf.tensors.get("token_embd.weight");
  if (!embd) throw new Error("GGUF has no token_embd.weight");
  const tied = !gguf.tensors.has("output.weight");
  const arch: Architecture = {
    family: "llama",
    model_type: "llama",
    vocab_size: embd.dims[1]!,
    hidden_size: d,
    intermediate_size: num("llama.feed_forward_length"),
    num_hidden_layers: num("llama.block_count"),
    num_attention_heads: H,
    num_key_value_heads: KV,
    head_dim: num("llama.attention.key_length", num("llama.rope.dimension_count", d / H)),
    max_position_embeddings: num("llama.context_length"),
    rope_theta: shortestFloat32(num("llama.rope.freq_base", 10000)),
    rms_norm_eps: shortestFloat32(num("llama.attention.layer_norm_rms_epsilon")),
    tie_word_embeddings: tied,
    attention_bias: gguf.tensors.has("blk.0.attn_q.bias"),
  };

  const weights: HfWeights = new Map();
  const blocks = new Map<string, Int4Weight>();
  const tensorTypes: Record<string, number> = {};
  for (const [name, t] of gguf.tensors) {
    tensorTypes[t.type] = (tensorTypes[t.type] ?? 0) + 1;
    const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
    const g = /^(\w+)\.(weight|bias)$/.exec(name);
    let hf: string;
    if (m && LAYER_TENSORS[m[2]!]) hf = `model.layers.${m[1]}.${LAYER_TENSORS[m[2]!]}.${m[3]}`;
    else if (g && GLOBAL_TENSORS[g[1]!]) hf = `${GLOBAL_TENSORS[g[1]!]}.${g[2]}`;
    else throw new Error(`GGUF tensor ${name} has no place in a Llama graph`);
    let w = dequantizeGguf(t);
    // rows of q and k back from interleaved pairs to rotate-half halves (bias rows too: cols = 1)
    if (m?.[2] === "attn_q") w = unpermuteRows(w, H, t.dims.length > 1 ? t.dims[0]! : 1);
    if (m?.[2] === "attn_k") w = unpermuteRows(w, KV, t.dims.length > 1 ? t.dims[0]! : 1);
    weights.set(hf, w);
    const carried = t.dims.length === 2 ? carryBlocks(t) : undefined;
    if (carried) blocks.set(hf, m?.[2] === "attn_q" ? unpermuteCarried(carried, H) : m?.[2] === "attn_k" ? unpermuteCarried(carried, KV) : carried);
    onTensor?.(weights.size, gguf.tensors.size);
  }

  const modelName = typeof meta.get("general.name") === "string" ? (meta.get("general.name") as string) : "gguf";
  return { arch, modelName, tensorTypes, weights, blocks, gguf, ...tokenizerFromGguf(gguf, arch) };
}

/** `tokenizer.json`, `tokenizer_config.json` and `generation_config.json` from the GGUF metadata. */
export function tokenizerFromGguf(gguf: Gguf, arch: Architecture) {
  const meta = gguf.metadata;
  const model = meta.get("tokenizer.ggml.model");
  if (model !== "gpt2") throw new Error(`GGUF tokenizer.ggml.model "${String(model)}" is not supported (byte-level BPE, "gpt2", only)`);
  const pre = String(meta.get("tokenizer.ggml.pre") ?? "default");
  const preTokenizer = PRE_TOKENIZERS[pre];
  if (!preTokenizer) throw new Error(`GGUF tokenizer.ggml.pre "${pre}" is not supported (supported: ${Object.keys(PRE_TOKENIZERS).join(", ")})`);
  const tokens = meta.get("tokenizer.ggml.tokens");
  const types = meta.get("tokenizer.ggml.token_type");
  const merges = meta.get("tokenizer.ggml.merges");
  if (!Array.isArray(tokens) || !Array.isArray(merges)) throw new Error("GGUF has no tokenizer.ggml.tokens / tokenizer.ggml.merges");
  const template = meta.get("tokenizer.chat_template");
  if (typeof template !== "string") throw new Error("GGUF has no tokenizer.chat_template: the runtime serves chat models only");

  const vocab: Record<string, number> = {};
  const added: AddedTokenJson[] = [];
  tokens.forEach((tok, id) => {
    const type = Array.isArray(types) ? Number(types[id]) : 1;
    vocab[String(tok)] = id;
    // llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
    if (type === 3 || type === 4) {
      added.push({ id, content: String(tok), single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === 3 });
    }
  });
  const idToken = (key: string): string | null => {
    const id = meta.get(key);
    return id === undefined ? null : String(tokens[Number(id)]);
  };
  const bos = idToken("tokenizer.ggml.bos_token_id");
  const eos = idToken("tokenizer.ggml.eos_token_id");
  const addBos = meta.get("tokenizer.ggml.add_bos_token") === true && bos !== null;
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: addBos
      ? {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
          special_tokens: { [bos]: { id: bos, ids: [vocab[bos]], tokens: [bos] } },
        }
      : { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: bpeModel(vocab, merges.map(String)),
  };
  const special = Object.fromEntries(added.map(({ id, ...rest }) => [String(id), rest]));
  const tokenizerConfig = {
    add_bos_token: addBos,
    add_prefix_space: false,
    added_tokens_decoder: special,
    bos_token: bos,
    eos_token: eos,
    pad_token: idToken("tokenizer.ggml.padding_token_id"),
    unk_token: idToken("tokenizer.ggml.unknown_token_id"),
    chat_template: template,
    clean_up_tokenization_spaces: false,
    model_max_length: arch.max_position_embeddings,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  const id = (key: string) => (meta.get(key) === undefined ? undefined : Number(meta.get(key)));
  const generationConfig = {
    bos_token_id: id("tokenizer.ggml.bos_token_id"),
    eos_token_id: id("tokenizer.ggml.eos_token_id"),
    pad_token_id: id("tokenizer.ggml.padding_token_id"),
  };
  return { tokenizerJson, tokenizerConfig, generationConfig };
}
