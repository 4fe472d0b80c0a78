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

/** Index of the largest value (first one on ties, like torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * A sampler for one generation; call it once per step.
 *
 * @example const next = createSampler({ temperature: 0.8, topK: 40, topP: 0.95, seed: 7 }); next(logits)
 */
export function createSampler(cfg: SamplingConfig): (logits: Float32Array) => number {
  if (cfg.temperature === 0) return argmax;
  const uniform = seededUniform(cfg.seed);
  return (logits) => {
    // candidates sorted by logit, cut to top-k
    let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
    if (cfg.topK > 0 && cfg.topK < order.length) order = order.slice(0, cfg.topK);
    // softmax at temperature, over the candidates
    const max = logits[order[0]!]!;
    const probs = order.map((i) => Math.exp((logits[i]! - max) / cfg.temperature));
    const total = probs.reduce((a, b) => a + b, 0);
    // top-p: smallest prefix whose mass reaches topP (always keeps the first)
    let keep = order.length;
    if (cfg.topP < 1) {
      let mass = 0;
      for (let j = 0; j < order.length; j++) {
        mass += probs[j]! / total;
        if (mass >= cfg.topP) {
          keep = j + 1;
          break;
        }
      }
    }
    const kept = probs.slice(0, keep);
    const keptTotal = kept.reduce((a, b) => a + b, 0);
    let u = uniform() * keptTotal;
    for (let j = 0; j < keep; j++) {
      u -= kept[j]!;
      if (u < 0) return order[j]!;
    }
    return order[keep - 1]!;
  };
}
