import { describe, expect, it } from "vitest";
import { argmax, createSampler, expNeg, samplingFor } from "./sampling.ts";
import { seededNormal, seededUniform } from "./random.ts";

const logits = (() => {
  const n = seededNormal(1);
  return Float32Array.from({ length: 200 }, () => 3 * n());
})();
const ranked = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);

describe("sampling", () => {
  it("temperature 0 is argmax, first index on ties", () => {
    expect(createSampler({ temperature: 0, topK: 0, topP: 1, seed: 1 })(logits)).toBe(ranked[0]);
    expect(argmax([1, 5, 5, 2])).toBe(1);
  });

  it("the same seed gives the same draws; another seed differs", () => {
    const draw = (seed: number) => {
      const s = createSampler({ temperature: 1, topK: 0, topP: 1, seed });
      return Array.from({ length: 50 }, () => s(logits));
    };
    expect(draw(4)).toEqual(draw(4));
    expect(draw(5)).not.toEqual(draw(4));
  });

  it("top_k keeps only the k most likely tokens", () => {
    const s = createSampler({ temperature: 5, topK: 3, topP: 1, seed: 2 });
    const seen = new Set(Array.from({ length: 500 }, () => s(logits)));
    expect([...seen].every((t) => ranked.slice(0, 3).includes(t))).toBe(true);
    expect(seen.size).toBe(3);
  });

  it("top_p keeps the smallest set whose mass reaches p", () => {
    const T = 2;
    const p = ranked.map((i) => Math.exp(logits[i]! / T));
    const Z = p.reduce((a, b) => a + b, 0);
    let mass = 0;
    let k = 0;
    while (mass < 0.5) mass += p[k++]! / Z;
    const s = createSampler({ temperature: T, topK: 0, topP: 0.5, seed: 3 });
    const seen = new Set(Array.from({ length: 2000 }, () => s(logits)));
    expect([...seen].every((t) => ranked.slice(0, k).includes(t))).toBe(true);
  });

  it("sampled frequencies follow the softmax at the temperature", () => {
    const small = Float32Array.from([0, 1, 2]);
    const s = createSampler({ temperature: 1, topK: 0, topP: 1, seed: 9 });
    const counts = [0, 0, 0];
    const N = 20_000;
    for (let i = 0; i < N; i++) counts[s(small)]!++;
    const z = 1 + Math.E + Math.E ** 2;
    [1 / z, Math.E / z, Math.E ** 2 / z].forEach((p, i) => expect(Math.abs(counts[i]! / N - p)).toBeLessThan(0.015));
  });

  it("without top-k and top-p, walks the softmax in index order", () => {
    const s = createSampler({ temperature: 0.8, topK: 0, topP: 1, seed: 21 });
    const uniform = seededUniform(21);
    const max = Math.max(...logits);
    const w = Array.from(logits, (v) => Math.exp((v - max) / 0.8));
    const total = w.reduce((a, b) => a + b, 0);
    for (let draw = 0; draw < 200; draw++) {
      let u = uniform() * total;
      const want = w.findIndex((x) => (u -= x) < 0);
      expect(s(logits)).toBe(want);
    }
  });

  it("with top-k or top-p, draws exactly what sorting every index by its logit draws (the reference), ties included", () => {
    // the reference: candidates = all indices sorted by (logit desc, index asc), then the same walk
    const reference = (cfg: { temperature: number; topK: number; topP: number; seed: number }) => {
      const uniform = seededUniform(cfg.seed);
      return (l: Float32Array) => {
        let order = Array.from(l.keys()).sort((a, b) => l[b]! - l[a]! || a - b);
        if (cfg.topK > 0 && cfg.topK < order.length) order = order.slice(0, cfg.topK);
        const probs = order.map((i) => Math.exp((l[i]! - l[order[0]!]!) / cfg.temperature));
        // the candidates' weights are summed in index order
        const total = [...order].sort((a, b) => a - b).reduce((sum, i) => sum + Math.exp((l[i]! - l[order[0]!]!) / cfg.temperature), 0);
        let keep = order.length;
        if (cfg.topP < 1) {
          let mass = 0;
          for (let j = 0; j < order.length; j++) if ((mass += probs[j]! / total) >= cfg.topP) {
            keep = j + 1;
            break;
          }
        }
        const kept = probs.slice(0, keep);
        let u = uniform() * kept.reduce((a, b) => a + b, 0);
        for (let j = 0; j < keep; j++) if ((u -= kept[j]!) < 0) return order[j]!;
        return order[keep - 1]!;
      };
    };
    const n = seededNormal(11);
    // 2,000 logits on a coarse grid, so that many are tied (and some are -0 and +0)
    const tied = Float32Array.from({ length: 2000 }, () => Math.round(4 * n()) / 2);
    tied[7] = -0;
    for (const l of [logits, tied])
      for (const cfg of [
        { temperature: 1, topK: 0, topP: 0.95, seed: 1 },
        { temperature: 0.7, topK: 40, topP: 0.9, seed: 2 },
        { temperature: 3, topK: 0, topP: 0.5, seed: 3 },
        { temperature: 0.2, topK: 5, topP: 1, seed: 4 },
        // low temperatures: most logits weigh nothing and are never bucketed or sorted
        { temperature: 0.2, topK: 0, topP: 0.9, seed: 5 },
        { temperature: 0.05, topK: 0, topP: 0.99, seed: 6 },
        { temperature: 0.1, topK: 300, topP: 1, seed: 7 },
        // top-k above the logits that weigh: every one of them is a candidate
        { temperature: 0.1, topK: 1999, topP: 0.9, seed: 8 },
        { temperature: 5, topK: 0, topP: 0.9999, seed: 9 },
      ]) {
        const [ours, theirs] = [createSampler(cfg), reference(cfg)];
        expect(Array.from({ length: 300 }, () => ours(l)), JSON.stringify(cfg)).toEqual(Array.from({ length: 300 }, () => theirs(l)));
      }
    // a vocabulary as large as SmolLM2's, where only a head of the order is sorted
    const vocab = Float32Array.from({ length: 49_152 }, () => 2.5 * n());
    for (const cfg of [
      { temperature: 1, topK: 0, topP: 0.9, seed: 10 },
      { temperature: 0.7, topK: 50, topP: 0.95, seed: 11 },
    ]) {
      const [ours, theirs] = [createSampler(cfg), reference(cfg)];
      expect(Array.from({ length: 20 }, () => ours(vocab)), JSON.stringify(cfg)).toEqual(Array.from({ length: 20 }, () => theirs(vocab)));
    }
  });
});

describe("expNeg: the softmax weights' exp", () => {
  it("is within 3 ulp of Math.exp over exp's whole float64 range, 1 at 0, 0 past it and for NaN", () => {
    const u = seededUniform(12);
    const xs = [0, 2 ** -30, 1 / 1024, 1 - 2 ** -40, 1, 52.3, 744.9, ...Array.from({ length: 20_000 }, (_, i) => (i < 10_000 ? 60 : 745) * u())];
    let worst = 0;
    for (const x of xs) {
      const ref = Math.exp(-x);
      // the float64 spacing at the reference: 2^-52 of its binade, 2^-1074 among the subnormals
      const ulp = Math.max(2 ** (Math.floor(Math.log2(ref)) - 52), 2 ** -1074);
      worst = Math.max(worst, Math.abs(expNeg(x) - ref) / ulp);
    }
    expect(worst).toBeLessThanOrEqual(3); // over 2e6 draws of x in [0, 745): 56 % exact, 42 % 1 ulp, 2 % 2, 0.01 % 3
    expect(expNeg(0)).toBe(1);
    for (const x of [745, 800, Infinity, NaN]) expect(expNeg(x)).toBe(0);
  });
});

describe("samplingFor: the request's fields, else the package's defaults, else the API's", () => {
  it("fills each field on its own", () => {
    expect(samplingFor({ seed: 3 }, {})).toEqual({ temperature: 1, topK: 0, topP: 1, seed: 3 });
    expect(samplingFor({ seed: 3 }, { temperature: 0.2, topP: 0.9 })).toEqual({ temperature: 0.2, topK: 0, topP: 0.9, seed: 3 });
    expect(samplingFor({ temperature: 1, topK: 5, seed: 3 }, { temperature: 0.2, topP: 0.9, topK: 40 })).toEqual({ temperature: 1, topK: 5, topP: 0.9, seed: 3 });
    expect(samplingFor({ temperature: 0, seed: 3 }, { temperature: 0.2 }).temperature).toBe(0); // 0 is a value, not "left out"
  });

  it("draws a seed when the request gives none", () => {
    const { seed } = samplingFor({}, {});
    expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31).toBe(true);
  });
});
