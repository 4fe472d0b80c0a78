/**
 * The one matrix step adapters need: transposing row-major float32 matrices (PEFT's `[out, in]`
 * layout ↔ the graph's `[in, out]`), optionally folding a scale in on the way.
 */

/**
 * `out[j, i] = scale · x[i, j]`: [rows, cols] → [cols, rows].
 *
 * @example transpose(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3) // Float32Array [1, 4, 2, 5, 3, 6]
 */
export function transpose(x: Float32Array, rows: number, cols: number, scale = 1): Float32Array {
  if (x.length !== rows * cols) throw new RangeError(`transpose: ${x.length} values are not [${rows}, ${cols}]`);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = scale * x[row + j]!;
  }
  return out;
}
