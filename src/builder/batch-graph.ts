/**
 * The pieces that turn the decoder graph (llama-graph.ts) into its batched variant
 * (`model.batch.onnx`): B rows, each a sequence with its own adapter, position and KV cache,
 * in one forward pass.
 *
 * Layout: the rows' tokens are flattened, `[N = B·S, d]`, so every per-token step (embedding,
 * norms, projections, MLP, RoPE) is the plain graph's. The KV caches of all rows live in one
 * **ragged** cache `[kv_heads, P, head_dim]`, the plain graph's layout: each column belongs to one
 * row (`past_rows`) at one position (`past_positions`), and a pass appends its N new columns at the
 * end (after a joining row's cache, `join`). A query attends to the columns of its own row at positions up to its own; every other
 * column is masked to −∞ (exp gives exactly 0). Why ragged rather than padding rows to the longest:
 * the cache holds exactly the rows' own tokens (the memory admission control charged), a row's
 * cache joins by appending and leaves by dropping its columns, and attention stays one MatMul per
 * kv head; the price is that each query scores every column, B× attention's arithmetic, small at
 * the contexts served here.
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

/** Per-token row keys and positions, and the attention mask `[N, T]` over the ragged cache. */
export function batchPositionsAndMask(g: GraphBuilder, ids: string) {
  const shapeBS = g.op("Shape", [ids]); // [2] = (B, S)
  const positions = g.input(batchIo.positions, "int64", ["B", "S"]);
  const rowIds = g.input(batchIo.rowIds, "int64", ["B"]);
  const pastRows = g.input(batchIo.pastRows, "int64", ["PJ"]);
  const pastPositions = g.input(batchIo.pastPositions, "int64", ["PJ"]);
  const loraRows = g.input(batchIo.loraRows, "int64", ["BL"]);
  const flat = (t: string) => g.op("Reshape", [t, g.i64([-1])]);
  const pos = flat(positions); // [N]
  const rows = flat(g.op("Expand", [g.op("Unsqueeze", [rowIds, g.i64([1])]), shapeBS])); // [N]
  // columns after this pass: the past ones, then the N new ones in token order
  const colRows = g.op("Concat", [pastRows, rows], { axis: 0 }); // [T]
  const colPos = g.op("Concat", [pastPositions, pos], { axis: 0 }); // [T]
  // a query sees the columns of its own row at positions ≤ its own
  const otherRow = g.op("Not", [g.op("Equal", [g.op("Unsqueeze", [rows, g.i64([1])]), colRows])]); // [N, T]
  const future = g.op("Greater", [colPos, g.op("Unsqueeze", [pos, g.i64([1])])]); // [N, T]
  const mask = g.op("Where", [g.op("Or", [otherRow, future]), g.f32([-Infinity], []), g.f32([0], [])]);
  return { pos, mask, shapeBS, loraRows };
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
