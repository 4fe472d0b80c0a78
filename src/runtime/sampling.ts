/**
 * Choosing the next token from logits: greedy, temperature, top-k, top-p, with a seeded source so
 * the same seed gives the same tokens everywhere.
 */
import { seededUniform } from "./random.ts";

export type SamplingConfig = {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** 0 = no top-k cut. */
  topK: number;
  /** 1 = no nucleus cut. */
  topP: number;
  seed: number;
};

export const GREEDY: SamplingConfig = { temperature: 0, topK: 0, topP: 1, seed: 0 };

/** Sampling fields as a request gives them: any may be left out. */
export type SamplingRequest = { temperature?: number | undefined; topK?: number | undefined; topP?: number | undefined; seed?: number | undefined };

/**
 * A request's sampling: each field it names, else the package's default for it (generation_config.json,
 * `ChatTokenizer.samplingDefaults`), else the API's (temperature 1, no top-k or top-p cut); a random
 * seed when none is given. The one rule for the server (src/pipeline/chat.ts) and the browser runtime.
 *
 * @example samplingFor({ temperature: 1 }, { temperature: 0.2, topP: 0.9 }) // → { temperature: 1, topK: 0, topP: 0.9, seed: … }
 */
export function samplingFor(req: SamplingRequest, defaults: Omit<SamplingRequest, "seed">): SamplingConfig {
  return {
    temperature: req.temperature ?? defaults.temperature ?? 1,
    topK: req.topK ?? defaults.topK ?? 0,
    topP: req.topP ?? defaults.topP ?? 1,
    seed: req.seed ?? Math.floor(Math.random() * 2 ** 31),
  };
}

/** Index of the largest value (first one on ties, like torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * A sampler for one generation; call it once per step.
 *
 * Without top-k or top-p, a seeded uniform draw times the softmax weights' sum walks the weights
 * in index order. With them, the candidates are the logits in descending order (ties: lower index
 * first), cut to top-k; their softmax weights at the temperature are summed in that order, cut to
 * the smallest prefix whose mass reaches top-p, and the draw walks the prefix. Only the values
 * need sorting for that (a typed-array sort, ~30× faster than sorting 49k indices by a comparator,
 * which cost ~25 ms per token on SmolLM2's vocabulary); the index of the drawn value is found
 * afterwards among its ties.
 *
 * @example const next = createSampler({ temperature: 0.8, topK: 40, topP: 0.95, seed: 7 }); next(logits)
 */
export function createSampler(cfg: SamplingConfig): (logits: Float32Array) => number {
  if (cfg.temperature === 0) return argmax;
  const uniform = seededUniform(cfg.seed);
  if (!(cfg.topK > 0) && !(cfg.topP < 1))
    // nothing is cut, so no order is needed: the draw walks the softmax in index order (one pass)
    return (logits) => {
      const { weights, total } = softmaxWeights(logits, logits.length, logits[argmax(logits)]!, cfg.temperature);
      return walk(weights, logits.length, uniform() * total);
    };
  return (logits) => {
    // candidate values, descending, cut to top-k; only those that can weigh are sorted
    const sorted = weighable(logits, cfg.temperature).sort().reverse();
    const n = cfg.topK > 0 && cfg.topK < sorted.length ? cfg.topK : sorted.length;
    const { weights, total } = softmaxWeights(sorted, n, sorted[0]!, cfg.temperature);
    // top-p: smallest prefix whose mass reaches topP (always keeps the first); the kept weights'
    // sum is taken as it goes (without a cut it is the total)
    let [keep, kept] = [n, total];
    if (cfg.topP < 1) {
      let [mass, sum] = [0, 0];
      for (let j = 0; j < n; j++) {
        mass += weights[j]! / total;
        sum += weights[j]!;
        if (mass >= cfg.topP) {
          [keep, kept] = [j + 1, sum];
          break;
        }
      }
    }
    return indexOfRanked(logits, sorted, walk(weights, keep, uniform() * kept));
  };
}

/**
 * The logits whose softmax weight at `temperature` is at least 2^-60/n of the largest one's (1).
 * The others' weights sum to less than 2^-60, under half an ulp of any total (≥ 1), so leaving them
 * out changes no sum, top-p cut or draw, bar a draw that rounding walks past every kept weight
 * (chance < 2^-52). At SmolLM2's default temperature 0.2 a few hundred of its 49,152 logits are
 * left to sort instead of all: 1.06 ms a token with top_p 0.9, against ≥ 6.3 ms (bench/sampler.ts).
 */
function weighable(logits: Float32Array, temperature: number): Float32Array {
  const floor = logits[argmax(logits)]! + temperature * Math.log(2 ** -60 / logits.length);
  let count = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i]! >= floor) count++;
  if (count === logits.length) return Float32Array.from(logits);
  const kept = new Float32Array(count);
  for (let i = 0, j = 0; i < logits.length; i++) if (logits[i]! >= floor) kept[j++] = logits[i]!;
  return kept;
}

/** exp((value − max) / temperature) of the first `n` values, and their sum in that order. */
function softmaxWeights(values: Float32Array, n: number, max: number, temperature: number): { weights: Float64Array; total: number } {
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i] = Math.exp((values[i]! - max) / temperature);
  return { weights, total };
}

/** The first of the `n` weights where `u`, less the weights so far, goes below zero; the last one if it never does. */
function walk(weights: Float64Array, n: number, u: number): number {
  for (let i = 0; i < n; i++) if ((u -= weights[i]!) < 0) return i;
  return n - 1;
}

/** The index of the logit at `rank` in descending order, ties taken by ascending index. */
function indexOfRanked(logits: Float32Array, sorted: Float32Array, rank: number): number {
  const value = sorted[rank]!;
  let tiesBefore = 0;
  while (rank - tiesBefore > 0 && sorted[rank - tiesBefore - 1] === value) tiesBefore++;
  for (let i = 0; i < logits.length; i++) if (logits[i] === value && tiesBefore-- === 0) return i;
  throw new Error("sampler: drawn value not among the logits");
}
