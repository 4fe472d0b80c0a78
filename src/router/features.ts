/**
 * Text → hashed sparse feature vector: word unigrams and bigrams plus character 3–6-grams of each
 * word, hashed with FNV-1a into `dim` signed buckets, optionally weighted per bucket (inverse
 * document frequency), each group L2-normalised and then the whole vector L2-normalised. Plain JS and typed arrays only, so it runs the same in Node and workerd.
 */

/** How text becomes features; stored in the artifact so training and serving agree. */
export interface FeatureConfig {
  /** Number of hash buckets, a power of two. */
  dim: number;
  /** Shortest and longest character n-gram taken inside each word (padded with spaces). */
  charNgramMin: number;
  charNgramMax: number;
  /** Relative weight of the word group against the character group before the final L2. */
  wordGroupWeight: number;
  /** Only the last `maxChars` UTF-16 code units of a text are examined, which bounds latency. */
  maxChars: number;
  /**
   * [dim] multiplier of each bucket's count before normalisation: the inverse document frequency
   * of the bucket in the training texts, so that n-grams every message has ("is there a", "do
   * you") weigh less than the words that say what it is about. Absent: every bucket weighs 1.
   */
  bucketWeights?: Float32Array;
}

/** A sparse vector: strictly increasing `indices` in `[0, dim)` with their `values`. */
export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

export const DEFAULT_FEATURE_CONFIG: FeatureConfig = {
  dim: 1 << 16,
  charNgramMin: 3,
  charNgramMax: 6,
  wordGroupWeight: 1,
  maxChars: 4096,
};

// FNV-1a 32-bit constants, and one tag per feature kind so "ab" the word and "ab" the n-gram differ.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TAG_WORD = 1;
const TAG_BIGRAM = 2;
const TAG_CHAR = 3;
const WORD_SEPARATOR = 0x20;
const MAX_CHAR_NGRAM_WORD_LENGTH = 32;

/** FNV-1a over one UTF-16 code unit, low byte then high byte. */
function fnvStep(hash: number, codeUnit: number): number {
  hash = Math.imul(hash ^ (codeUnit & 0xff), FNV_PRIME);
  return Math.imul(hash ^ (codeUnit >>> 8), FNV_PRIME);
}

/** murmur3's fmix32: FNV's low bits are weak, and the bucket is taken from the low bits. */
function finalise(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/**
 * The text the classifier sees: the last `maxChars` code units (never starting inside a surrogate
 * pair), NFKC-normalised, lower-cased (Unicode-aware), every decimal digit mapped to 0 so order
 * numbers and amounts share features.
 *
 * @example normaliseText("Order #A1234 — ÉTÉ", 4096) // → "order #a0000 — été"
 */
export function normaliseText(text: string, maxChars: number): string {
  let tail = text.length > maxChars ? text.slice(text.length - maxChars) : text;
  const first = tail.charCodeAt(0);
  if (first >= 0xdc00 && first <= 0xdfff) tail = tail.slice(1);
  return tail.normalize("NFKC").toLowerCase().replace(/\p{Nd}/gu, "0");
}

/** Words are runs of letters, marks and digits; apostrophes and punctuation split them. */
const WORD_PATTERN = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * Accumulates signed hashed features into a dense scratch buffer and remembers which buckets were
 * touched, so a message costs O(features) and allocates only its output.
 */
class FeatureAccumulator {
  readonly sums: Float64Array;
  readonly isTouched: Uint8Array;
  readonly touched: Int32Array;
  count = 0;
  constructor(readonly dim: number) {
    this.sums = new Float64Array(dim);
    this.isTouched = new Uint8Array(dim);
    this.touched = new Int32Array(dim);
  }
  add(hash: number, bucketWeights: Float32Array | undefined): void {
    const h = finalise(hash);
    const index = h & (this.dim - 1);
    const weight = bucketWeights ? (bucketWeights[index] as number) : 1;
    // the top bit picks the sign, so colliding features cancel on average instead of piling up
    const signed = h >>> 31 ? -weight : weight;
    if (this.isTouched[index] === 0) {
      this.isTouched[index] = 1;
      this.touched[this.count++] = index;
    }
    this.sums[index] = (this.sums[index] ?? 0) + signed;
  }
  norm(): number {
    let sumSquares = 0;
    for (let i = 0; i < this.count; i++) {
      const v = this.sums[this.touched[i] as number] as number;
      sumSquares += v * v;
    }
    return Math.sqrt(sumSquares);
  }
  /** Moves the accumulated values, times `scale`, into `into` and clears the scratch. */
  drainInto(into: Map<number, number>, scale: number): void {
    for (let i = 0; i < this.count; i++) {
      const index = this.touched[i] as number;
      const v = this.sums[index] as number;
      if (v !== 0) into.set(index, (into.get(index) ?? 0) + v * scale);
      this.sums[index] = 0;
      this.isTouched[index] = 0;
    }
    this.count = 0;
  }
}

const accumulators = new Map<number, { words: FeatureAccumulator; chars: FeatureAccumulator }>();

function accumulatorsFor(dim: number): { words: FeatureAccumulator; chars: FeatureAccumulator } {
  let pair = accumulators.get(dim);
  if (!pair) {
    pair = { words: new FeatureAccumulator(dim), chars: new FeatureAccumulator(dim) };
    accumulators.set(dim, pair);
  }
  return pair;
}

/**
 * Hashed, L2-normalised features of one text. Empty or symbol-only text gives the empty vector.
 *
 * @example extractFeatures("where is my order?", DEFAULT_FEATURE_CONFIG).indices.length // → ~60 buckets
 */
export function extractFeatures(text: string, config: FeatureConfig): SparseVector {
  const normalised = normaliseText(text, config.maxChars);
  const { words, chars } = accumulatorsFor(config.dim);
  const { bucketWeights } = config;
  let previousWordHash = -1;
  for (const match of normalised.matchAll(WORD_PATTERN)) {
    const word = match[0];
    // word unigram
    let wordHash = fnvStep(FNV_OFFSET, TAG_WORD);
    for (let i = 0; i < word.length; i++) wordHash = fnvStep(wordHash, word.charCodeAt(i));
    words.add(wordHash, bucketWeights);
    // word bigram: continue the previous word's bigram-tagged hash across a separator
    if (previousWordHash !== -1) {
      let bigramHash = fnvStep(previousWordHash, WORD_SEPARATOR);
      for (let i = 0; i < word.length; i++) bigramHash = fnvStep(bigramHash, word.charCodeAt(i));
      words.add(bigramHash, bucketWeights);
    }
    previousWordHash = fnvStep(FNV_OFFSET, TAG_BIGRAM);
    for (let i = 0; i < word.length; i++) previousWordHash = fnvStep(previousWordHash, word.charCodeAt(i));
    // character n-grams of " word ": every start, lengths charNgramMin..charNgramMax. Not for
    // over-long tokens (hashes, base64, keyboard mashing): they are no word's spelling, and their
    // thousands of n-grams would drown the rest of the message.
    if (word.length > MAX_CHAR_NGRAM_WORD_LENGTH) continue;
    const paddedLength = word.length + 2;
    const codeAt = (i: number): number => (i === 0 || i === paddedLength - 1 ? WORD_SEPARATOR : word.charCodeAt(i - 1));
    for (let start = 0; start + config.charNgramMin <= paddedLength; start++) {
      let hash = fnvStep(FNV_OFFSET, TAG_CHAR);
      for (let n = 1; n <= config.charNgramMax && start + n <= paddedLength; n++) {
        hash = fnvStep(hash, codeAt(start + n - 1));
        if (n >= config.charNgramMin) chars.add(hash, bucketWeights);
      }
    }
  }
  const merged = new Map<number, number>();
  const wordNorm = words.norm();
  const charNorm = chars.norm();
  words.drainInto(merged, wordNorm > 0 ? config.wordGroupWeight / wordNorm : 0);
  chars.drainInto(merged, charNorm > 0 ? 1 / charNorm : 0);
  return toNormalisedSparse(merged);
}

/**
 * Weighted sum of sparse vectors, L2-normalised: how a conversation's turns become one vector.
 *
 * @example combineFeatures([{ vector: lastTurn, weight: 1 }, { vector: earlierTurn, weight: 0.3 }])
 */
export function combineFeatures(parts: ReadonlyArray<{ vector: SparseVector; weight: number }>): SparseVector {
  const merged = new Map<number, number>();
  for (const { vector, weight } of parts) {
    for (let i = 0; i < vector.indices.length; i++) {
      const index = vector.indices[i] as number;
      merged.set(index, (merged.get(index) ?? 0) + (vector.values[i] as number) * weight);
    }
  }
  return toNormalisedSparse(merged);
}

function toNormalisedSparse(entries: Map<number, number>): SparseVector {
  const indices = Int32Array.from(entries.keys()).sort();
  let sumSquares = 0;
  for (const v of entries.values()) sumSquares += v * v;
  const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 0;
  const values = new Float32Array(indices.length);
  for (let i = 0; i < indices.length; i++) values[i] = (entries.get(indices[i] as number) ?? 0) * scale;
  return { indices, values };
}

/**
 * Inverse document frequency per bucket over `texts`: `ln((1 + N) / (1 + df)) + 1` for every bucket
 * some text touches, 1 for the rest (a bucket no training text touches has no weight in the model,
 * so it should not dilute the vector's norm more than a word every message has).
 *
 * @example bucketIdf(trainTexts, config) // → Float32Array [dim], 1 for "the", ~8 for "terraform"
 */
export function bucketIdf(texts: readonly string[], config: FeatureConfig): Float32Array {
  const plain = { ...config, bucketWeights: undefined };
  const documentFrequency = new Float64Array(config.dim);
  for (const text of texts) for (const index of extractFeatures(text, plain).indices) documentFrequency[index] = (documentFrequency[index] as number) + 1;
  const idf = new Float32Array(config.dim);
  for (let j = 0; j < config.dim; j++) {
    const df = documentFrequency[j] as number;
    idf[j] = df > 0 ? Math.log((1 + texts.length) / (1 + df)) + 1 : 1;
  }
  return idf;
}
