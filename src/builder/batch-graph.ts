/**
 * The pieces that turn the decoder graph (llama-graph.ts) into its batched variant
 * (`model.batch.onnx`): B rows, each a sequence with its own adapter, position and KV cache,
 * in one forward pass.
 *
 * Layout: the rows' tokens are flattened, `[N = B·S, d]`, so every per-token step (embedding,
 * norms, projections, MLP, RoPE) is the plain graph's. The KV caches of all rows live in one
 * **ragged** cache `[kv_heads, P, head_dim]` (the plain graph's layout without its batch axis): each
 * column belongs to one row at one position (`past_positions`), and a pass appends its N new columns at the
 * end (after a joining row's cache, `join`). A row attends to its own columns only, gathered per
 * pass (`row_columns`, `perRowAttention`), up to its own position. Why ragged rather than padding
 * rows to the longest: the cache holds exactly the rows' own tokens (the memory admission control
 * charged), a row's cache joins by appending and leaves by dropping its columns; the gathered
 * copy is scratch of one layer at a time.
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
 * Per-token positions, and for attention each row's own cache columns: `row_columns` `[B, L]` (the
 * indices, into `present`, of the row's columns in position order, padded past `row_lengths`) and
 * the mask `[B, S, L]` over them (padding, and within a prefill chunk the later positions, at −∞).
 */
export function batchPositionsAndMask(g: GraphBuilder, ids: string) {
  const shapeBS = g.op("Shape", [ids]); // [2] = (B, S)
  const positions = g.input(batchIo.positions, "int64", ["B", "S"]);
  const pastPositions = g.input(batchIo.pastPositions, "int64", ["PJ"]);
  const rowColumns = g.input(batchIo.rowColumns, "int64", ["B", "L"]);
  const rowLengths = g.input(batchIo.rowLengths, "int64", ["B"]);
  const loraRows = g.input(batchIo.loraRows, "int64", ["BL"]);
  const pos = g.op("Reshape", [positions, g.i64([-1])]); // [N]
  // the position of each row's gathered columns: past ones, then the N new ones in token order
  const colPos = g.op("Gather", [g.op("Concat", [pastPositions, pos], { axis: 0 }), rowColumns], { axis: 0 }); // [B, L]
  const future = g.op("Greater", [g.op("Unsqueeze", [colPos, g.i64([1])]), g.op("Unsqueeze", [positions, g.i64([2])])]); // [B, S, L]
  const L = g.op("Gather", [g.op("Shape", [rowColumns]), g.i64([1])], { axis: 0 }); // [1]
  const scalar = (v: bigint) => g.initializer(g.fresh("scalar_i64"), BigInt64Array.of(v), [], { external: false });
  const slots = g.op("Range", [scalar(0n), g.op("Squeeze", [L, g.i64([0])]), scalar(1n)]); // [L]
  const padding = g.op("Unsqueeze", [g.op("GreaterOrEqual", [slots, g.op("Unsqueeze", [rowLengths, g.i64([1])])]), g.i64([1])]); // [B, 1, L]
  const mask = g.op("Where", [g.op("Or", [future, padding]), g.f32([-Infinity], []), g.f32([0], [])]); // [B, S, L]
  return { pos, mask, shapeBS, loraRows, rowColumns };
}

/**
 * Attention of each row over its own cache columns only: K and V gathered per row from the ragged
 * `present` (`[KV, T, hd]` → `[KV, B, L, hd]`), each row's queries of one kv head as one matrix, `[KV, B, g·S, hd]`.
 * Work and scratch grow with B·L (the longest row), not with B·T (every row's columns), which is
 * what scoring the whole ragged cache under a mask cost: at 8 rows of ~500 tokens, ~100 of a
 * 263 ms step (SmolLM2-135M, bench/README.md "Heterogeneous batching"). Returns `[N, H·hd]`.
 */
export function perRowAttention(g: GraphBuilder, q: string, presentK: string, presentV: string, rows: { shapeBS: string; mask: string; rowColumns: string }, dims: { KV: number; groups: number; hd: number; scale: number }): string {
  const { KV, groups, hd, scale } = dims;
  // [N, H·hd] → [B, S, KV, g, hd] → [KV, B, g, S, hd] → [KV, B, g·S, hd]: one product per (kv head, row), no broadcasting
  const qG = g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [q, g.op("Concat", [rows.shapeBS, g.i64([KV, groups, hd])], { axis: 0 })])], { perm: [2, 0, 3, 1, 4] }), g.i64([KV, 0, -1, hd])]);
  const gather = (t: string) => g.op("Gather", [t, rows.rowColumns], { axis: 1 }); // [KV, B, L, hd]
  const scores = g.op("MatMul", [qG, g.op("Transpose", [gather(presentK)], { perm: [0, 1, 3, 2] })]); // [KV, B, g·S, L]
  const shape = g.op("Shape", [scores]);
  const perHead = g.op("Reshape", [scores, g.op("Concat", [g.i64([KV, 0, groups, -1]), g.op("Slice", [shape, g.i64([3]), g.i64([4])])], { axis: 0 })]); // [KV, B, g, S, L]
  const masked = g.op("Add", [g.op("Mul", [perHead, g.f32([scale], [])]), g.op("Unsqueeze", [rows.mask, g.i64([0, 2])])]); // + [1, B, 1, S, L]
  const att = g.op("Reshape", [g.op("Softmax", [masked], { axis: -1 }), shape]); // [KV, B, g·S, L]
  const ctx = g.op("Reshape", [g.op("MatMul", [att, gather(presentV)]), g.i64([KV, 0, groups, -1, hd])]); // [KV, B, g, S, hd]
  return g.op("Reshape", [g.op("Transpose", [ctx], { perm: [1, 3, 0, 2, 4] }), g.i64([-1, KV * groups * hd])]);
}

/**
 * The LoRA side path of the rows that carry an adapter (`lora_rows`, B' of the B rows), on their
 * own tokens: `[N, K]` → `[B, S, K]` → those rows `[B', S, K] · A[B', K, r] · B[B', r, N]`, added
 * to their rows of the base output (ScatterND, reduction add). Rows without an adapter are not
 * touched at all: exactly the base.
 */
export function perRowLora(g: GraphBuilder, x: string, base: string, A: string, B: string, rows: { shapeBS: string; loraRows: string }, K: number, N: number): string {
  const x3 = g.op("Reshape", [x, g.op("Concat", [rows.shapeBS, g.i64([K])], { axis: 0 })]); // [B, S, K]
  const delta = g.op("MatMul", [g.op("MatMul", [g.op("Gather", [x3, rows.loraRows], { axis: 0 }), A]), B]); // [B', S, N]
  const base3 = g.op("Reshape", [base, g.op("Concat", [rows.shapeBS, g.i64([N])], { axis: 0 })]); // [B, S, N]
  const y3 = g.op("ScatterND", [base3, g.op("Unsqueeze", [rows.loraRows, g.i64([1])]), delta], { reduction: "add" });
  return g.op("Reshape", [y3, g.i64([-1, N])]);
}

/** The last position of each row, `[N, d]` → `[B, d]` (what the next token is sampled from). */
export function lastPositionRows(g: GraphBuilder, h: string, shapeBS: string, d: number): string {
  const h3 = g.op("Reshape", [h, g.op("Concat", [shapeBS, g.i64([d])], { axis: 0 })]); // [B, S, d]
  return g.op("Reshape", [g.op("Slice", [h3, g.i64([-1]), g.i64([Number.MAX_SAFE_INTEGER]), g.i64([1])]), g.i64([-1, d])]);
}
