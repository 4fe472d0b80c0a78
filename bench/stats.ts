/**
 * The summary statistics the benches report, in one place so every table means the same thing by
 * "median" and "p99".
 */

/**
 * The middle value; the mean of the two middle ones for an even count (two rounds of a bench
 * report their mean, not the larger one); NaN of none (a lane without samples, not a crash).
 *
 * @example median([3, 1, 2]) // 2
 * @example median([4, 1, 3, 2]) // 2.5
 */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The q-quantile by nearest rank (the value below which a fraction q of the samples lie), e.g. the
 * p99 of the gaps between a stream's tokens; NaN of none.
 *
 * @example quantile([10, 20, 30, 40], 0.99) // 40
 */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
