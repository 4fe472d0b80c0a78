/**
 * Seeded random numbers for test fixtures: mulberry32 for uniforms, Box–Muller for normals.
 * Same seed, same sequence, on every platform (32-bit integer arithmetic only).
 */

/** A seeded source of uniform and normal deviates. */
export type Rng = {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
};

/**
 * mulberry32 uniforms plus Box–Muller normals.
 * @example
 * const rng = createRng(42);
 * const x = randn(rng, 16, 0.02); // Float64Array of 16 N(0, 0.02²) draws
 */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const u1 = 1 - uniform(); // (0, 1]: log stays finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return { uniform, normal };
}

/**
 * `n` draws of N(mean, std²) as float64.
 * @example randn(createRng(1), 4) // Float64Array(4) of N(0, 1) draws
 */
export function randn(rng: Rng, n: number, std = 1, mean = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return out;
}
