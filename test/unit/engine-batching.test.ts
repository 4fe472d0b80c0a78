/**
 * Continuous batching (src/runtime/batcher.ts over the batched graph, src/builder/batch-graph.ts):
 * rows with their own adapters (or none), prompts and cache lengths in one pass equal the float64
 * reference per row; a row without an adapter is exactly the base; each of 8 sequences with 8
 * adapters produces what its solo run produces; sequences join and leave (stop, abort, disconnect)
 * mid-batch without touching the others, and their memory is freed. Runs on both backends.
 */
import { describe, expect, it } from "vitest";
import { forwardLogits, relL2, type HfConfig } from "../reference/llama64.ts";
import { randomHfWeights } from "../reference/hf-checkpoint.ts";
import { packageOf } from "../support/models.ts";
import { testBackend } from "../support/backend.ts";
import { mergeFeeds, randomFeeds } from "../support/feeds.ts";
import { Engine, type GenerateRequest, type GenerationEvent } from "../../src/runtime/engine.ts";
import { argmax, createSampler, type SamplingConfig } from "../../src/runtime/sampling.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import type { Architecture, WeightFormat } from "../../src/runtime/manifest.ts";

const config: HfConfig = {
  vocab_size: 320, hidden_size: 64, intermediate_size: 112, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 50_000, rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false, max_position_embeddings: 128,
};
const weights = randomHfWeights(config, 3, 0.15);

async function engines(format: WeightFormat) {
  const pkg = await packageOf(config, weights, format, { batch: true });
  const backend = await testBackend();
  const batched = await Engine.create(pkg, { backend, batching: true });
  const solo = await Engine.create(pkg, { backend, batching: false });
  return { batched, solo, arch: pkg.manifest.architecture };
}

/** Adapters of different ranks, some absent, one a weighted composition (ranks concatenated). */
function adapterSet(arch: Architecture, n: number): Array<LoraFeeds | undefined> {
  return Array.from({ length: n }, (_, i) => {
    if (i % 3 === 1) return undefined;
    if (i === 5) return composed(randomFeeds(arch, 2, 50, 0.25), randomFeeds(arch, 3, 51, 0.25), 0.7, 0.3);
    return randomFeeds(arch, 1 + (i % 4), 40 + i, 0.25);
  });
}

/** w1·a + w2·b as one feed: ranks concatenated, each weight folded into its block of B (src/adapters/compose.ts's rule). */
function composed(a: LoraFeeds, b: LoraFeeds, w1: number, w2: number): LoraFeeds {
  return {
    dora: false,
    layers: a.layers.map((layer, l) =>
      Object.fromEntries(
        Object.entries(layer).map(([g, fa]) => {
          const fb = b.layers[l]![g as keyof typeof layer]!;
          const K = fa.A.length / fa.rank;
          const r = fa.rank + fb.rank;
          const A = new Float32Array(K * r);
          for (let k = 0; k < K; k++) {
            A.set(fa.A.subarray(k * fa.rank, (k + 1) * fa.rank), k * r);
            A.set(fb.A.subarray(k * fb.rank, (k + 1) * fb.rank), k * r + fa.rank);
          }
          const B = Float32Array.from([...fa.B.map((v) => v * w1), ...fb.B.map((v) => v * w2)]);
          return [g, { rank: r, A, B }];
        }),
      ),
    ),
  };
}

const sampling = (i: number): SamplingConfig => ({ temperature: 0.8, topK: 40, topP: 0.95, seed: 100 + i });
const prompt = (i: number) => Array.from({ length: 3 + ((i * 5) % 11) }, (_, j) => 1 + ((i * 37 + j * 11) % 300));

/** Drive the batcher directly, recording each row's logits before sampling. */
function batchedRun(engine: Engine, promptIds: number[], lora: LoraFeeds | undefined, sampling: SamplingConfig, maxTokens: number, signal?: AbortSignal) {
  const sampler = createSampler(sampling);
  const logits: Float32Array[] = [];
  const seq = engine.batcher!.add({ promptIds, lora, maxTokens, stopIds: new Set(), prefillChunk: 8, signal, sample: (l) => (logits.push(l.slice()), sampler(l)) });
  const ids = (async () => {
    const out: number[] = [];
    for (let id; (id = await seq.next()) !== undefined; ) out.push(id);
    seq.leave();
    return out;
  })();
  return { ids, logits, seq };
}

/** The solo path's logits for a token history: prefill the prompt, then one step per generated token. */
async function soloLogits(engine: Engine, promptIds: number[], ids: number[], lora: LoraFeeds | undefined): Promise<Float32Array[]> {
  const seq = engine.sequence(lora);
  try {
    const out = [await seq.step(promptIds)];
    for (const id of ids.slice(0, -1)) out.push(await seq.step([id]));
    return out;
  } finally {
    seq.release();
  }
}

async function events(gen: AsyncIterable<GenerationEvent>) {
  const out: GenerationEvent[] = [];
  for await (const ev of gen) out.push(ev.type === "done" ? { ...ev, prefillMs: 0, decodeMs: 0 } : ev);
  return out;
}

describe("continuous batching", () => {
  it("rows with different adapters (ranks 2..4, none), prompts and cache lengths equal the float64 reference per row (fp32, rel L2 < 1e-5)", async () => {
    const { batched, arch } = await engines("fp32");
    const adapters = [randomFeeds(arch, 2, 7, 0.25), undefined, randomFeeds(arch, 4, 8, 0.25)];
    const runs = adapters.map((lora, i) => ({ lora, promptIds: prompt(i + 1), ...batchedRun(batched, prompt(i + 1), lora, { temperature: 0, topK: 0, topP: 1, seed: 0 }, 6) }));
    for (const run of runs) {
      const ids = await run.ids;
      expect(ids).toHaveLength(6);
      const merged = run.lora ? mergeFeeds(arch, weights, run.lora) : weights;
      const tokens = [...run.promptIds, ...ids];
      const want = forwardLogits(config, merged, tokens);
      const V = config.vocab_size;
      run.logits.forEach((got, t) => {
        const pos = run.promptIds.length - 1 + t;
        expect(relL2(got, want.subarray(pos * V, (pos + 1) * V))).toBeLessThan(1e-5);
      });
      expect(ids[0]).toBe(argmax(want.subarray((run.promptIds.length - 1) * V, run.promptIds.length * V)));
    }
    // the adapters matter, and the steps really were shared
    expect(relL2(forwardLogits(config, weights, prompt(1)), forwardLogits(config, mergeFeeds(arch, weights, adapters[0]!), prompt(1)))).toBeGreaterThan(1e-2);
    expect(batched.batcher!.stats.rowsStepped).toBeGreaterThan(batched.batcher!.stats.steps);
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("a row without an adapter takes no part in the side path: its logits are bit-identical to the same batch with no adapters at all", async () => {
    const { batched, arch } = await engines("fp32");
    const greedy = { temperature: 0, topK: 0, topP: 1, seed: 0 };
    const run = async (others: Array<LoraFeeds | undefined>) => {
      const runs = [others[0], undefined, others[1]].map((lora, i) => batchedRun(batched, prompt(i), lora, greedy, 5));
      await Promise.all(runs.map((r) => r.ids));
      return runs[1]!.logits;
    };
    const withAdapters = await run([randomFeeds(arch, 3, 1, 0.25), randomFeeds(arch, 2, 2, 0.25)]);
    const bare = await run([undefined, undefined]);
    expect(withAdapters).toHaveLength(5);
    withAdapters.forEach((l, t) => expect(l.every((v, i) => v === bare[t]![i])).toBe(true));
  });

  it("8 sequences with 8 different adapters (some none, one composed) each produce the same tokens as their solo run with the same seed, logits within 1e-5 relative L2 (fp32)", async () => {
    const { batched, solo, arch } = await engines("fp32");
    const adapters = adapterSet(arch, 8);
    const runs = adapters.map((lora, i) => batchedRun(batched, prompt(i), lora, sampling(i), 12));
    const got = await Promise.all(runs.map((r) => r.ids));
    expect(batched.batcher!.stats.widestStep).toBe(8);
    for (let i = 0; i < 8; i++) {
      const soloEvents = await events(solo.generate({ promptIds: prompt(i), maxTokens: 12, sampling: sampling(i), stopTokenIds: [], ...(adapters[i] ? { lora: adapters[i] } : {}) }));
      const soloIds = soloEvents.flatMap((e) => (e.type === "token" ? [e.id] : []));
      expect(got[i]).toEqual(soloIds);
      const want = await soloLogits(solo, prompt(i), soloIds, adapters[i]);
      runs[i]!.logits.forEach((l, t) => expect(relL2(l, want[t]!)).toBeLessThan(1e-5));
    }
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("a burst that arrives together is prefilled in one turn: every first token goes out before any decode step, then all join one step with one stack build", async () => {
    const { batched, solo, arch } = await engines("fp32");
    const adapters = adapterSet(arch, 6);
    const stepsAtFirstToken: number[] = [];
    const got = await Promise.all(
      adapters.map(async (lora, i) => {
        const seq = batched.batcher!.add({ promptIds: prompt(i), lora, maxTokens: 5, stopIds: new Set(), prefillChunk: 64, sample: createSampler(sampling(i)) });
        const out: number[] = [];
        for (let id; (id = await seq.next()) !== undefined; out.push(id)) if (!out.length) stepsAtFirstToken.push(batched.batcher!.stats.steps);
        return out;
      }),
    );
    expect(stepsAtFirstToken).toEqual([0, 0, 0, 0, 0, 0]);
    expect(batched.batcher!.stats).toMatchObject({ prefillPasses: 6, steps: 4, widestStep: 6, rowsStepped: 24, stackRebuilds: 1 });
    for (let i = 0; i < 6; i++) {
      const soloEvents = await events(solo.generate({ promptIds: prompt(i), maxTokens: 5, sampling: sampling(i), stopTokenIds: [], ...(adapters[i] ? { lora: adapters[i] } : {}) }));
      expect(got[i]).toEqual(soloEvents.flatMap((e) => (e.type === "token" ? [e.id] : [])));
    }
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("a burst of prompts longer than a chunk is prefilled first come, first served: the first prompt's first token comes after its own passes, not a round of everyone's", async () => {
    const { batched, arch } = await engines("fp32");
    const passesAtFirstToken: number[] = [];
    const promptOf = (i: number) => Array.from({ length: 12 }, (_, j) => 1 + ((i * 53 + j * 7) % 300));
    await Promise.all(
      [randomFeeds(arch, 2, 90), undefined, randomFeeds(arch, 3, 91)].map(async (lora, i) => {
        const seq = batched.batcher!.add({ promptIds: promptOf(i), lora, maxTokens: 3, stopIds: new Set(), prefillChunk: 4, sample: createSampler(sampling(i)) });
        let first = true;
        for (let id; (id = await seq.next()) !== undefined; first = false) if (first) passesAtFirstToken.push(batched.batcher!.stats.prefillPasses);
      }),
    );
    // one turn's budget is a chunk per waiting prompt (12 tokens): all of the first prompt, no round robin
    expect(passesAtFirstToken[0]).toBe(3);
    expect(passesAtFirstToken).toEqual([...passesAtFirstToken].sort((a, b) => a - b));
    expect(batched.batcher!.stats.prefillPasses).toBe(9);
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("base rows that join and leave mid-batch only move lora_rows (no stack rebuild); the adapter rows keep their solo tokens and logits (fp32)", async () => {
    const { batched, solo, arch } = await engines("fp32");
    // rows 0, 2 carry adapters and run 10 tokens; rows 1, 3 are the base and stop after 3 (leaving between adapter rows)
    const adapters = [randomFeeds(arch, 3, 70, 0.25), undefined, randomFeeds(arch, 2, 71, 0.25), undefined];
    const maxTokens = (i: number) => (adapters[i] ? 10 : 3);
    const runs = adapters.map((lora, i) => batchedRun(batched, prompt(i), lora, sampling(i), maxTokens(i)));
    const got = await Promise.all(runs.map((r) => r.ids));
    expect(batched.batcher!.stats.widestStep).toBeGreaterThanOrEqual(3);
    // rebuilt when an adapter row joins (rows 0, 2) or leaves with others still decoding (row 0); the base rows' joins and leaves add none
    expect(batched.batcher!.stats.stackRebuilds).toBeLessThanOrEqual(3);
    for (let i = 0; i < 4; i++) {
      const soloEvents = await events(solo.generate({ promptIds: prompt(i), maxTokens: maxTokens(i), sampling: sampling(i), stopTokenIds: [], ...(adapters[i] ? { lora: adapters[i] } : {}) }));
      const soloIds = soloEvents.flatMap((e) => (e.type === "token" ? [e.id] : []));
      expect(got[i]).toEqual(soloIds);
      const want = await soloLogits(solo, prompt(i), soloIds, adapters[i]);
      runs[i]!.logits.forEach((l, t) => expect(relL2(l, want[t]!)).toBeLessThan(1e-5));
    }
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("int8: a row's tokens and logits do not depend on its batch mates (activations quantized per token): 8 together equal each alone", async () => {
    const { batched, arch } = await engines("int8");
    const adapters = adapterSet(arch, 8);
    const together = adapters.map((lora, i) => batchedRun(batched, prompt(i), lora, sampling(i), 12));
    const got = await Promise.all(together.map((r) => r.ids));
    expect(batched.batcher!.stats.widestStep).toBe(8);
    for (let i = 0; i < 8; i++) {
      const alone = batchedRun(batched, prompt(i), adapters[i], sampling(i), 12);
      expect(got[i]).toEqual(await alone.ids);
      together[i]!.logits.forEach((l, t) => expect(relL2(l, alone.logits[t]!)).toBeLessThan(1e-5));
    }
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("generate() gives the same events batched (8 at once) as one by one: text, stop strings, finish reasons", async () => {
    const { batched, solo, arch } = await engines("fp32");
    const adapters = adapterSet(arch, 8);
    const reqs: GenerateRequest[] = adapters.map((lora, i) => ({
      promptIds: prompt(i), maxTokens: 10 + i, sampling: { temperature: 1, topK: 0, topP: 1, seed: i }, prefillChunk: 5,
      ...(i % 2 ? { stopStrings: ["e", "a"] } : {}), ...(lora ? { lora } : {}),
    }));
    const together = await Promise.all(reqs.map((r) => events(batched.generate(r))));
    for (let i = 0; i < reqs.length; i++) expect(together[i]).toEqual(await events(solo.generate(reqs[i]!)));
    expect(batched.memory().sequenceBytes).toBe(0);
  });

  it("sequences join and leave mid-batch (stop, abort, disconnect) without changing the others' tokens, and a leaver's memory is freed before the next step", async () => {
    const { batched, solo, arch } = await engines("fp32");
    const sampling = (i: number) => ({ temperature: 1, topK: 0, topP: 1, seed: 7 + i });
    const lora = (i: number) => (i === 2 ? undefined : randomFeeds(arch, 2 + i, 60 + i, 0.25));
    const req = (i: number, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ promptIds: prompt(i), maxTokens: 24, sampling: sampling(i), stopTokenIds: [], ...(lora(i) ? { lora: lora(i)! } : {}), ...extra });
    const tokensOf = (evs: GenerationEvent[]) => evs.flatMap((e) => (e.type === "token" ? [e.id] : []));

    const abort = new AbortController();
    const aborted = batched.generate(req(3, { signal: abort.signal }));
    const disconnected = batched.generate(req(4));
    const stayA = events(batched.generate(req(0)));
    // the leavers read a few tokens each, then one is aborted and the other's reader goes away
    for (let k = 0; k < 4; k++) await Promise.all([aborted.next(), disconnected.next()]);
    const joinLate = events(batched.generate(req(1))); // joins mid-batch
    await new Promise((r) => setTimeout(r, 5));
    const before = batched.memory().sequenceBytes;
    abort.abort();
    await expect(aborted.next()).rejects.toThrow();
    await disconnected.return(undefined);
    const stayB = events(batched.generate(req(2))); // joins after they left
    // after the next steps the leavers' cache columns and LoRA rows are gone
    await new Promise((r) => setTimeout(r, 20));
    const leaverBytes = 2 * (prompt(3).length + prompt(4).length) * 2 * config.num_hidden_layers * config.num_key_value_heads * arch.head_dim * 4;
    expect(batched.memory().sequenceBytes).toBeLessThan(before - leaverBytes + 1);
    const [a, late, b] = await Promise.all([stayA, joinLate, stayB]);
    expect(tokensOf(a)).toEqual(tokensOf(await events(solo.generate(req(0)))));
    expect(tokensOf(late)).toEqual(tokensOf(await events(solo.generate(req(1)))));
    expect(tokensOf(b)).toEqual(tokensOf(await events(solo.generate(req(2)))));
    expect(tokensOf(a)).toHaveLength(24);
    expect(batched.memory().sequenceBytes).toBe(0);
    expect(batched.batcher!.size).toEqual({ prefilling: 0, ready: 0, decoding: 0 });
  });
});
