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
 * The softmax weights at the temperature, `exp((logit − max) / T)`, are always summed in index
 * order to the total. Without top-k or top-p, a seeded uniform draw times the total walks the
 * weights in index order. With them, the candidates are the logits in descending order (ties: lower
 * index first), cut to top-k (the total is then the kept ones'); the smallest prefix whose mass (its
 * weights summed in that order, over the total) reaches top-p is kept, and the draw walks the prefix.
 * Only the head of that order is ever walked, so the vocabulary is not sorted (`head`): a sort of
 * SmolLM2's 49,152 logits took ~6.5 ms a token, more than the rest of the sampler.
 *
 * @example const next = createSampler({ temperature: 0.8, topK: 40, topP: 0.95, seed: 7 }); next(logits)
 */
export function createSampler(cfg: SamplingConfig): (logits: Float32Array) => number {
  if (cfg.temperature === 0) return argmax;
  const uniform = seededUniform(cfg.seed);
  const T = cfg.temperature;
  if (!(cfg.topK > 0) && !(cfg.topP < 1)) {
    // nothing is cut, so no order is needed: the draw walks the softmax in index order (one pass);
    // the weights array is reused (a fresh one for 49,152 logits is 393 KB of garbage a token)
    let scratch = new Float64Array(0);
    return (logits) => {
      if (scratch.length < logits.length) scratch = new Float64Array(logits.length);
      const { weights, total } = softmaxWeights(logits, logits.length, logits[argmax(logits)]!, T, scratch);
      return walk(weights, logits.length, uniform() * total);
    };
  }
  const buckets = new Buckets(T);
  return (logits) => {
    let sorted: Float32Array;
    let total: number;
    let cut: Nucleus | undefined;
    buckets.fill(logits, { weights: !(cfg.topK > 0) });
    if (cfg.topK > 0 && cfg.topK < buckets.weighable) {
      sorted = buckets.head(logits, buckets.byCount(cfg.topK)).subarray(0, cfg.topK);
      total = topKTotal(logits, sorted, buckets.max, T);
      cut = nucleus(sorted, buckets.max, T, total, cfg.topP);
    } else {
      if (cfg.topK > 0) buckets.fill(logits, { weights: true });
      total = buckets.total;
      // the buckets the top-p prefix can end in (a margin far above the sums' rounding), else all
      let last = cfg.topP < 1 ? buckets.byMass(cfg.topP * total * (1 + 1e-9)) : Buckets.COUNT - 1;
      for (;;) {
        sorted = buckets.head(logits, last);
        cut = nucleus(sorted, buckets.max, T, total, cfg.topP);
        if (cut || last === Buckets.COUNT - 1) break;
        last = Buckets.COUNT - 1;
      }
    }
    // no top-p cut (or its mass never reached): every candidate is kept
    cut ??= { weights: softmaxWeights(sorted, sorted.length, buckets.max, T).weights, keep: sorted.length, kept: total };
    return indexOfRanked(logits, sorted, walk(cut.weights, cut.keep, uniform() * cut.kept));
  };
}

type Nucleus = { weights: Float64Array; keep: number; kept: number };

/**
 * Top-p over the descending `sorted` candidates: the smallest prefix whose mass (weights summed in
 * order, over `total`) reaches `topP` (always keeps the first), with the prefix's weights and their
 * sum; undefined when there is no cut or the candidates never reach it.
 */
function nucleus(sorted: Float32Array, max: number, temperature: number, total: number, topP: number): Nucleus | undefined {
  if (!(topP < 1)) return undefined;
  const { weights } = softmaxWeights(sorted, sorted.length, max, temperature);
  let [mass, sum] = [0, 0];
  for (let j = 0; j < sorted.length; j++) {
    mass += weights[j]! / total;
    sum += weights[j]!;
    if (mass >= topP) return { weights, keep: j + 1, kept: sum };
  }
  return undefined;
}

/**
 * The logits that can weigh, bucketed by how far below the largest they are: 1/16 of a temperature
 * per bucket, with each bucket's count and weight. A logit weighs when its softmax weight is at least
 * 2^-60/n of the largest one's (1); the others' weights sum to less than 2^-60, under half an ulp of
 * any total (≥ 1), so leaving them out changes no sum, top-p cut or draw, bar a draw that rounding
 * walks past every kept weight (chance < 2^-52). They are ~52 temperatures down at n = 49,152, inside
 * the 64 the buckets span. The buckets then say which logits the head of the descending order (top-k,
 * the top-p prefix) can come from, and only those are sorted: at temperature 1 with top_p 0.9 a few
 * dozen of SmolLM2's 49,152 (bench/sampler.ts).
 */
class Buckets {
  static readonly COUNT = 1024;
  static readonly PER_TEMPERATURE = 16;
  private readonly count = new Int32Array(Buckets.COUNT);
  private readonly mass = new Float64Array(Buckets.COUNT);
  max = 0;
  floor = 0;
  /** How many logits weigh. */
  weighable = 0;
  /** Their weights' sum in index order (when filled with weights). */
  total = 0;

  private readonly scale: number;

  constructor(private readonly temperature: number) {
    this.scale = Buckets.PER_TEMPERATURE / temperature;
  }

  bucketOf(value: number): number {
    return Math.min(Buckets.COUNT - 1, Math.floor((this.max - value) * this.scale));
  }

  /** Counts (and with `weights`, weights and their total) of the logits that weigh. */
  fill(logits: Float32Array, { weights }: { weights: boolean }): void {
    const T = this.temperature;
    const { count, mass, scale } = this;
    const last = Buckets.COUNT - 1;
    const max = (this.max = logits[argmax(logits)]!);
    const floor = (this.floor = max + T * Math.log(2 ** -60 / logits.length));
    count.fill(0);
    mass.fill(0);
    let weighable = 0;
    let total = 0;
    // bucketOf, inlined: this loop is most of a sampled token's time
    for (let i = 0; i < logits.length; i++) {
      const v = logits[i]!;
      if (v < floor) continue;
      const b = Math.min(last, Math.floor((max - v) * scale));
      count[b]!++;
      weighable++;
      if (!weights) continue;
      const w = expNeg((max - v) / T);
      mass[b]! += w;
      total += w;
    }
    this.weighable = weighable;
    this.total = total;
  }

  /** The first bucket by which at least `k` logits have been seen, from the top. */
  byCount(k: number): number {
    let seen = 0;
    for (let b = 0; b < Buckets.COUNT; b++) if ((seen += this.count[b]!) >= k) return b;
    return Buckets.COUNT - 1;
  }

  /** The first bucket by which the weights seen, from the top, reach `mass`. */
  byMass(mass: number): number {
    let seen = 0;
    for (let b = 0; b < Buckets.COUNT; b++) if ((seen += this.mass[b]!) >= mass) return b;
    return Buckets.COUNT - 1;
  }

  /** The logits that weigh in buckets 0..`last`, in descending order: a head of the whole order. */
  head(logits: Float32Array, last: number): Float32Array {
    let size = 0;
    for (let b = 0; b <= last; b++) size += this.count[b]!;
    const out = new Float32Array(size);
    // values below `lower` weigh nothing or are in later buckets (a margin for rounding): no bucket to work out
    const lower = Math.max(this.floor, this.max - ((last + 1) / Buckets.PER_TEMPERATURE + 1e-6) * this.temperature);
    for (let i = 0, j = 0; i < logits.length && j < size; i++) {
      const v = logits[i]!;
      if (v >= lower && this.bucketOf(v) <= last) out[j++] = v;
    }
    return out.sort().reverse();
  }
}

/**
 * The top-k candidates' total, in index order: every logit above the k-th largest value, and of those
 * equal to it the lowest indices, as many as the top k hold.
 */
function topKTotal(logits: Float32Array, topK: Float32Array, max: number, temperature: number): number {
  const last = topK[topK.length - 1]!;
  let ties = 0;
  for (let j = topK.length - 1; j >= 0 && topK[j] === last; j--) ties++;
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > last || (v === last && ties-- > 0)) total += expNeg((max - v) / temperature);
  }
  return total;
}

/** exp((value − max) / temperature) of the first `n` values (into `into` when given), and their sum in that order. */
function softmaxWeights(values: Float32Array, n: number, max: number, temperature: number, into?: Float64Array): { weights: Float64Array; total: number } {
  const weights = into ?? new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i] = expNeg((max - values[i]!) / temperature);
  return { weights, total };
}

/** exp(−j/1024), j = 0‥1023 */
const EXP_FRACTION = Float64Array.from({ length: 1024 }, (_, j) => Math.exp(-j / 1024));
/** exp(−n), n = 0‥744 (exp(−745) is float64's smallest subnormal) */
const EXP_INTEGER = Float64Array.from({ length: 745 }, (_, n) => Math.exp(-n));

/**
 * exp(−x) for x ≥ 0, the weight of a logit x temperatures below the largest: exp(−k/1024) from two
 * tables (k = ⌊1024·x⌋) times exp of the remaining sliver (under 1/1024) by its Taylor polynomial to
 * degree 4 (truncation < 1e-17). Within 3 ulp of `Math.exp` (`sampling.test.ts`) and 1.5–3× faster
 * than V8's (bench/sampler.ts): the sampler takes one per logit that can weigh, at temperature 1
 * nearly all of SmolLM2's 49,152 a token, for every row of a batched step. 0 past float64's range,
 * and for NaN. Written by hand because no library exp trades the last ulps for speed in JS.
 */
export function expNeg(x: number): number {
  const t = x * 1024;
  if (!(t < 745 * 1024)) return 0;
  const k = t | 0;
  const f = (k - t) / 1024; // exact: −(the sliver), in (−1/1024, 0]
  return EXP_FRACTION[k & 1023]! * EXP_INTEGER[k >> 10]! * (1 + f * (1 + f * (1 / 2 + f * (1 / 6 + f * (1 / 24)))));
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
