/**
 * The pieces that turn the decoder graph (llama-graph.ts) into its batched variant
 * (`model.batch.onnx`): B rows, each a sequence with its own adapter, position and KV cache,
 * in one forward pass.
 *
 * Layout: the rows' tokens are flattened, `[N = B·S, d]`, so every per-token step (embedding,
 * norms, projections, MLP, RoPE) is the plain graph's. The KV caches of all rows live in one
 * **ragged** buffer per layer, `[kv_heads, C, head_dim]` (the plain graph's layout without its batch
 * axis): each used column belongs to one row at one position, in any order, and the graph only reads
 * it. A row attends to its own columns, gathered per pass (`row_columns`, `perRowAttention`), and
 * to its S new tokens; the pass outputs only those N new columns (`present`, `[kv_heads, N,
 * head_dim]`), which the host writes into free columns of the buffer in place
 * (src/runtime/ragged-cache.ts). Why ragged rather than padding rows to the longest: the buffer holds
 * the rows' own tokens (what admission control charged), a row joins by copying its columns in and
 * leaves by freeing them; the gathered copy is scratch of one layer at a time. Why the host appends:
 * a graph that concatenates past and new columns into a fresh `present` copies the whole cache every
 * step (and onnxruntime-node copies that output once more into JS): at 8 rows of ~500 tokens the
 * step took 387 ms that way and 150 ms with the host appending (SmolLM2 fp32, bench/README.md
 * "In-place KV").
 *
 * LoRA: the rows that carry an adapter (`lora_rows`) have theirs stacked, `A` `[B', in, r]` and
 * `B` `[B', r, out]` with r the largest rank among them; a row of smaller rank is zero-padded, which
 * adds exact zeros; a row without an adapter takes no part in the side path and is the base.
 *
 * int8 activations are quantized per token (llama-graph.ts's `int8Activations: "row"` path), never
 * per tensor as the plain graph's default DynamicQuantizeMatMul does, which would make a row's
 * output depend on the other rows.
 */
import type { GraphBuilder } from "./onnx.ts";
import { batchIo } from "../runtime/manifest.ts";

/**
 * Per-token positions, and for attention each row's own past columns: `row_columns` `[B, L]` (the
 * indices, into the cache buffer, of the row's columns in position order, padded past
 * `row_lengths`) and the mask `[B, S, L + S]` over them and the pass's own S tokens (padding, and
 * among the new tokens the later ones, at −∞; every past column is earlier than every new token).
 */
export function batchPositionsAndMask(g: GraphBuilder, ids: string) {
  const shapeBS = g.op("Shape", [ids]); // [2] = (B, S)
  const positions = g.input(batchIo.positions, "int64", ["B", "S"]);
  const rowColumns = g.input(batchIo.rowColumns, "int64", ["B", "L"]);
  const rowLengths = g.input(batchIo.rowLengths, "int64", ["B"]);
  const loraRows = g.input(batchIo.loraRows, "int64", ["BL"]);
  const pos = g.op("Reshape", [positions, g.i64([-1])]); // [N]
  const scalar = (v: bigint) => g.initializer(g.fresh("scalar_i64"), BigInt64Array.of(v), [], { external: false });
  const range = (n: string) => g.op("Range", [scalar(0n), g.op("Squeeze", [n, g.i64([0])]), scalar(1n)]);
  const L = g.op("Gather", [g.op("Shape", [rowColumns]), g.i64([1])], { axis: 0 }); // [1]
  const S = g.op("Gather", [shapeBS, g.i64([1])], { axis: 0 }); // [1]
  const B = g.op("Gather", [shapeBS, g.i64([0])], { axis: 0 }); // [1]
  const padding = g.op("GreaterOrEqual", [range(L), g.op("Unsqueeze", [rowLengths, g.i64([1])])]); // [B, L]
  const sRange = range(S);
  const later = g.op("Greater", [g.op("Unsqueeze", [sRange, g.i64([0])]), g.op("Unsqueeze", [sRange, g.i64([1])])]); // [S, S]: key after query
  const blocked = g.op("Concat", [
    g.op("Expand", [g.op("Unsqueeze", [padding, g.i64([1])]), g.op("Concat", [B, S, L], { axis: 0 })]), // [B, S, L]
    g.op("Expand", [g.op("Unsqueeze", [later, g.i64([0])]), g.op("Concat", [B, S, S], { axis: 0 })]), // [B, S, S]
  ], { axis: 2 });
  const mask = g.op("Where", [blocked, g.f32([-Infinity], []), g.f32([0], [])]); // [B, S, L + S]
  // the tokens of the rows that carry an adapter, `[B', S]` (row·S + s), and as scatter indices `[B', S, 1]`
  const loraTokens = g.op("Add", [g.op("Unsqueeze", [g.op("Mul", [loraRows, S]), g.i64([1])]), g.op("Unsqueeze", [sRange, g.i64([0])])]);
  const loraScatter = g.op("Unsqueeze", [loraTokens, g.i64([2])]);
  return { pos, mask, shapeBS, loraTokens, loraScatter, rowColumns, L, S };
}

/**
 * The shapes every layer's `perRowAttention` reshapes to, and the mask broadcast over heads: the same
 * in every layer, so worked out once per pass instead of once per layer (six nodes a layer).
 */
export function attentionShapes(g: GraphBuilder, rows: { shapeBS: string; mask: string; L: string; S: string }, dims: { KV: number; groups: number; hd: number }) {
  const { KV, groups, hd } = dims;
  const LS = g.op("Add", [rows.L, rows.S]); // [1]: past columns + new tokens, what each query scores
  return {
    queries: g.op("Concat", [rows.shapeBS, g.i64([KV, groups, hd])], { axis: 0 }), // [B, S, KV, g, hd]
    perRow: g.op("Concat", [g.i64([KV]), rows.shapeBS, g.i64([hd])], { axis: 0 }), // [KV, B, S, hd]
    perHead: g.op("Concat", [g.i64([KV, 0, groups, -1]), LS], { axis: 0 }), // [KV, B, g, S, L + S]
    scores: g.op("Concat", [g.i64([KV, 0, -1]), LS], { axis: 0 }), // [KV, B, g·S, L + S]
    mask: g.op("Unsqueeze", [rows.mask, g.i64([0, 2])]), // [1, B, 1, S, L + S]
  };
}

/**
 * Attention of each row over its own past columns, gathered from the cache buffer (`[KV, C, hd]` →
 * `[KV, B, L, hd]`), and its own new tokens (`[KV, N, hd]` → `[KV, B, S, hd]`), each row's queries of
 * one kv head as one matrix, `[KV, B, g·S, hd]`. Work and scratch grow with B·L (the longest row),
 * not with the buffer; the buffer itself is only read (the host appends the new columns after the
 * pass, src/runtime/ragged-cache.ts). Returns `[N, H·hd]`.
 */
export function perRowAttention(g: GraphBuilder, q: string, kv: { pastK: string; pastV: string; newK: string; newV: string }, rows: { rowColumns: string }, shapes: ReturnType<typeof attentionShapes>, dims: { KV: number; groups: number; hd: number; scale: number }): string {
  const { KV, groups, hd, scale } = dims;
  // [N, H·hd] → [B, S, KV, g, hd] → [KV, B, g, S, hd] → [KV, B, g·S, hd]: one product per (kv head, row), no broadcasting
  const qG = g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [q, shapes.queries])], { perm: [2, 0, 3, 1, 4] }), g.i64([KV, 0, -1, hd])]);
  const own = (past: string, fresh: string) => g.op("Concat", [g.op("Gather", [past, rows.rowColumns], { axis: 1 }), g.op("Reshape", [fresh, shapes.perRow])], { axis: 2 }); // [KV, B, L + S, hd]
  const scores = g.op("MatMul", [qG, g.op("Transpose", [own(kv.pastK, kv.newK)], { perm: [0, 1, 3, 2] })]); // [KV, B, g·S, L + S]
  const perHead = g.op("Reshape", [scores, shapes.perHead]); // [KV, B, g, S, L + S]
  const masked = g.op("Add", [g.op("Mul", [perHead, g.f32([scale], [])]), shapes.mask]); // + [1, B, 1, S, L + S]
  const att = g.op("Reshape", [g.op("Softmax", [masked], { axis: -1 }), shapes.scores]); // [KV, B, g·S, L + S]
  const ctx = g.op("Reshape", [g.op("MatMul", [att, own(kv.pastV, kv.newV)]), g.i64([KV, 0, groups, -1, hd])]); // [KV, B, g, S, hd]
  return g.op("Reshape", [g.op("Transpose", [ctx], { perm: [1, 3, 0, 2, 4] }), g.i64([-1, KV * groups * hd])]);
}

/**
 * The LoRA side path of the rows that carry an adapter (`lora_rows`, B' of the B rows), on their
 * own tokens: those tokens gathered as `[B', S, K]` (2-D indices, so no reshape), `· A[B', K, r] ·
 * B[B', r, N]`, added to their tokens of the base output `[N_tokens, N]` (ScatterND, reduction add).
 * Rows without an adapter are not touched at all: exactly the base. Four nodes per projection group
 * (it was ten with the reshapes to `[B, S, ·]` and back: 720 nodes of SmolLM2's batched graph).
 */
export function perRowLora(g: GraphBuilder, x: string, base: string, A: string, B: string, rows: { loraTokens: string; loraScatter: string }): string {
  const delta = g.op("MatMul", [g.op("MatMul", [g.op("Gather", [x, rows.loraTokens], { axis: 0 }), A]), B]); // [B', S, N]
  return g.op("ScatterND", [base, rows.loraScatter, delta], { reduction: "add" });
}

/** The last position of each row, `[N, d]` → `[B, d]` (what the next token is sampled from). */
export function lastPositionRows(g: GraphBuilder, h: string, shapeBS: string, d: number): string {
  const h3 = g.op("Reshape", [h, g.op("Concat", [shapeBS, g.i64([d])], { axis: 0 })]); // [B, S, d]
  return g.op("Reshape", [g.op("Slice", [h3, g.i64([-1]), g.i64([Number.MAX_SAFE_INTEGER]), g.i64([1])]), g.i64([-1, d])]);
}
