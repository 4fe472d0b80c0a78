/**
 * Contract 1 — the model package (`models/<name>/manifest.json`).
 *
 * A model package is what the builder writes and the runtime loads: this manifest, the ONNX graph
 * (`model.onnx`, weights as ONNX external data in `model.weights`), `tokenizer.json`,
 * `tokenizer_config.json` (with `chat_template`) and `generation_config.json`. The manifest is the
 * one place that names the graph's inputs and outputs and the LoRA layout (contract 2), so the
 * runtime and the adapter code never guess.
 */
import { z } from "zod";

/** The seven adapted projections, by their Hugging Face module names. */
export const PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type Projection = (typeof PROJECTIONS)[number];

/**
 * Projections that read the same activation share one LoRA side path in the graph ("group"):
 * `qkv` (q, k, v read the normed hidden state), `o`, `gate_up` (gate, up), `down`. One side path per
 * group keeps the number of small ONNX nodes low, which is what costs time at decode (FACTS.md).
 */
export const LORA_GROUPS = [
  { name: "qkv", projections: ["q_proj", "k_proj", "v_proj"] },
  { name: "o", projections: ["o_proj"] },
  { name: "gate_up", projections: ["gate_proj", "up_proj"] },
  { name: "down", projections: ["down_proj"] },
] as const satisfies readonly { name: string; projections: readonly Projection[] }[];
export type LoraGroupName = (typeof LORA_GROUPS)[number]["name"];

export const WEIGHT_FORMATS = ["fp32", "int8", "int4"] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

const fileEntry = z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** Architecture, in Hugging Face `config.json` terms (Llama family). */
export const architectureSchema = z.object({
  family: z.literal("llama"),
  model_type: z.string(),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive(),
  head_dim: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  rope_theta: z.number().positive(),
  /** Llama 3.1+ frequency-dependent RoPE scaling (`rope_type: "llama3"`); absent: plain RoPE. */
  rope_scaling: z
    .object({
      rope_type: z.literal("llama3"),
      factor: z.number().positive(),
      low_freq_factor: z.number().positive(),
      high_freq_factor: z.number().positive(),
      original_max_position_embeddings: z.number().int().positive(),
    })
    .optional(),
  rms_norm_eps: z.number().positive(),
  tie_word_embeddings: z.boolean(),
  attention_bias: z.boolean(),
});
export type Architecture = z.infer<typeof architectureSchema>;

export const manifestSchema = z.object({
  format: z.literal("lora-edge.model/1"),
  name: z.string().min(1),
  architecture: architectureSchema,
  parameters: z.number().int().positive(),
  quantization: z.object({
    weights: z.enum(WEIGHT_FORMATS),
    /** How linear weights are stored and run; see README "Weight formats". */
    scheme: z.string(),
    block_size: z.number().int().positive().optional(),
    /**
     * The stored weights are the source checkpoint's own values up to float32 rounding: its floats
     * (fp32), or its quantized blocks carried as they are (int4 from a GGUF's Q4_0/Q4_1/Q8_0). The
     * builder sets it only after reading every served weight back and comparing (src/builder/lossless.ts).
     * Lossless packages of one source compute the same function, so they share a base identity
     * (`baseIdentity`, src/runtime/model-package.ts) and the same adapters; a lossy format has its own.
     */
    lossless: z.boolean().optional(),
    /**
     * int4: whether activations meet the 4-bit weights in float32 (blocks dequantized, `"fp32"`) or
     * are quantized to int8 per row and block in the kernel (`"int8"`, `--int4-activations block`).
     * fp32 packages compute in float32 and int8 packages quantize activations, so they omit it.
     */
    activations: z.enum(["fp32", "int8"]).optional(),
  }),
  lora: z.object({
    /** Projections every layer exposes LoRA inputs for. */
    targets: z.array(z.enum(PROJECTIONS)),
    /** Largest total rank a request may feed per group (after composing adapters). */
    max_rank: z.number().int().positive(),
    /** Graph variant with a per-output-channel scale input per group (DoRA), if built. */
    dora_graph: z.string().optional(),
  }),
  files: z.object({
    graph: fileEntry,
    /**
     * With `parts`, the weights file is stored as consecutive pieces (each under a host's per-file
     * limit, e.g. wrangler's 25 MiB per static asset) and read as one; `bytes`/`sha256` are the whole's.
     */
    weights: fileEntry.extend({ parts: z.array(fileEntry).optional() }),
    tokenizer: fileEntry,
    tokenizer_config: fileEntry,
    generation_config: fileEntry,
    dora_graph: fileEntry.optional(),
    /** the batched graph variant (rows with their own adapters and caches in one pass), same weights file */
    batch_graph: fileEntry.optional(),
  }),
  /** Where each external initializer sits in the weights file (read back for DoRA and merges). */
  weights_index: z.record(z.string(), z.object({ offset: z.number().int().nonnegative(), bytes: z.number().int().nonnegative(), dtype: z.enum(["float32", "int64", "int32", "int8", "uint8"]), dims: z.array(z.number().int().nonnegative()) })),
  source: z.union([
    z.object({ kind: z.literal("random"), seed: z.number().int() }),
    z.object({ kind: z.literal("huggingface"), architectures: z.array(z.string()), dtype: z.string(), weights_sha256: z.string() }),
    /** a llama.cpp GGUF file: its `general.name`, sha256, and tensor count per ggml type */
    z.object({ kind: z.literal("gguf"), name: z.string(), sha256: z.string(), tensor_types: z.record(z.string(), z.number().int()) }),
    /** merge mode: a base package with adapters folded into its weights */
    z.object({ kind: z.literal("merged"), base: z.string(), base_hash: z.string(), adapters: z.array(z.object({ path: z.string(), weight: z.number() })) }),
  ]),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

/**
 * Whether the package's linear layers compute on float32 activations (fp32 weights, or int4 blocks
 * dequantized). Then a row's numbers do not depend on the rows beside it nor on which graph runs it:
 * batched and one-by-one runs give the same tokens (logits within 1e-5 relative L2, tested on the
 * demo model and on SmolLM2's int4 package). With int8 activations they differ at the level of
 * quantization noise (the plain graph quantizes per tensor, MLAS's 4-bit kernel at int8 compute
 * takes another path for several rows: SmolLM2 int4 `block` 0.06–0.17 relative L2).
 *
 * @example computesInFloat32(pkg.manifest.quantization) // models/smollm2-135m (int4, fp32 activations) → true
 */
export function computesInFloat32(q: ModelManifest["quantization"]): boolean {
  return q.weights === "fp32" || (q.weights === "int4" && q.activations === "fp32");
}

/** Output width of each projection, in the graph's `[in, out]` layout. */
export function projectionShape(arch: Architecture, p: Projection): { in: number; out: number } {
  const d = arch.hidden_size;
  const qDim = arch.num_attention_heads * arch.head_dim;
  const kvDim = arch.num_key_value_heads * arch.head_dim;
  switch (p) {
    case "q_proj": return { in: d, out: qDim };
    case "k_proj":
    case "v_proj": return { in: d, out: kvDim };
    case "o_proj": return { in: qDim, out: d };
    case "gate_proj":
    case "up_proj": return { in: d, out: arch.intermediate_size };
    case "down_proj": return { in: arch.intermediate_size, out: d };
  }
}

/**
 * Shape of one LoRA group's side path: input width and the column range each projection occupies
 * in the group's fused output (q | k | v, gate | up).
 *
 * @example groupLayout(arch, "qkv") // { in: 512, out: 768, columns: { q_proj: [0, 512], k_proj: [512, 640], v_proj: [640, 768] } }
 */
export function groupLayout(arch: Architecture, group: LoraGroupName) {
  const spec = LORA_GROUPS.find((g) => g.name === group)!;
  const columns: Partial<Record<Projection, [number, number]>> = {};
  let out = 0;
  let inDim = 0;
  for (const p of spec.projections) {
    const s = projectionShape(arch, p);
    inDim = s.in;
    columns[p] = [out, out + s.out];
    out += s.out;
  }
  return { in: inDim, out, columns };
}

/** Dims of one layer's key or value cache of `length` positions in the (unbatched) graph. */
export function cacheDims(arch: Architecture, length: number): number[] {
  return [1, arch.num_key_value_heads, length, arch.head_dim];
}

/**
 * Graph input and output names (contract 2 and the KV cache).
 *
 * - `input_ids` int64 `[1, S]`; `logits_to_keep` int64 `[1]` (last k positions get logits)
 * - `past.{l}.key` / `past.{l}.value` float32 `[1, kv_heads, P, head_dim]` → `present.{l}.key|value` `[1, kv_heads, P+S, head_dim]`
 *   (`cacheDims`; onnxruntime's GroupQueryAttention layout, so `present` is its output as is)
 * - `lora.{l}.{group}.A` float32 `[in, r]`, `lora.{l}.{group}.B` float32 `[r, out]` (r dynamic; 0 = no adapter)
 * - DoRA graph only: `lora.{l}.{group}.scale` float32 `[out]` multiplies the group's output
 * - `logits` float32 `[k, vocab]`
 */
export const io = {
  inputIds: "input_ids",
  logitsToKeep: "logits_to_keep",
  logits: "logits",
  pastKey: (l: number) => `past.${l}.key`,
  pastValue: (l: number) => `past.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
  loraA: (l: number, g: LoraGroupName) => `lora.${l}.${g}.A`,
  loraB: (l: number, g: LoraGroupName) => `lora.${l}.${g}.B`,
  doraScale: (l: number, g: LoraGroupName) => `lora.${l}.${g}.scale`,
} as const;

/**
 * The batched graph's inputs besides those of `io` (src/builder/batch-graph.ts): `input_ids`
 * `[B, S]`, one sequence per row, and
 * - `positions` int64 `[B, S]`: each token's position in its own sequence (RoPE)
 * - `row_columns` int64 `[B, L]`: for each row, the indices into the cache buffer of its own past
 *   columns in position order, padded to the longest row; `row_lengths` int64 `[B]` how many of them
 *   are real
 * - `past.{l}.key|value` `[kv_heads, C, head_dim]`: every row's cache, ragged, in one buffer the
 *   graph only reads (unused columns are never gathered); `present.{l}.key|value` `[kv_heads, N,
 *   head_dim]`: the N = B·S new columns in token order, which the host writes into the buffer
 * - `lora_rows` int64 `[B']`: the rows that carry an adapter; `lora.{l}.{group}.A` `[B', in, r]`,
 *   `.B` `[B', r, out]`: their adapters in that order, zero-padded to the largest rank
 * - `logits` `[B, vocab]`: each row's last position
 */
export const batchIo = {
  positions: "positions",
  rowColumns: "row_columns",
  rowLengths: "row_lengths",
  loraRows: "lora_rows",
} as const;

/** Parse and validate a manifest read from outside (a package on disk, R2, a bundle). */
export function parseManifest(json: unknown): ModelManifest {
  return manifestSchema.parse(json);
}
