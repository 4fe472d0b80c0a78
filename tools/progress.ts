/**
 * Progress for long CLI steps on stderr: a bar redrawn in place on a terminal, one line per step
 * otherwise (CI logs), and each step's time when it ends.
 *
 * @example
 * const step = startStep("dequantizing tensors");
 * for (...) step.progress(i, n);
 * step.done(); // "dequantizing tensors … 3.2 s"
 */
const WIDTH = 30;

export function startStep(label: string, out: { write(s: string): unknown; isTTY?: boolean } = process.stderr) {
  const t0 = performance.now();
  let last = -1;
  if (!out.isTTY) out.write(`${label} …\n`);
  return {
    progress(done: number, total: number) {
      if (!out.isTTY || total <= 0) return;
      const pct = Math.floor((100 * done) / total);
      if (pct === last) return;
      last = pct;
      const fill = Math.round((WIDTH * done) / total);
      out.write(`\r[${"#".repeat(fill)}${".".repeat(WIDTH - fill)}] ${String(pct).padStart(3)}% ${label}`);
    },
    done(note = ""): number {
      const s = (performance.now() - t0) / 1000;
      out.write(`${out.isTTY ? "\r\x1b[K" : ""}${label} … ${s.toFixed(1)} s${note ? ` (${note})` : ""}\n`);
      return s;
    },
  };
}
