/**
 * `npx tsx bench/sampler.ts [--model models/smollm2-135m]`: what choosing a token costs, per token, on
 * a real model's logits — the sampler (`createSampler`) at several settings, beside what its top-k /
 * top-p path sorted before session 12 (every logit), interleaved in one process. The logits are the
 * package's own for four chat prompts (one prefill each on onnxruntime-node).
 *
 * Session 12, AMD EPYC 2 cores (CI running beside it), SmolLM2-135M int4: at the package's default
 * temperature 0.2 / top_p 0.9 a token took ≥ 6.3 ms (the full sort alone) and took 1.06 ms once only
 * the logits that can weigh were sorted. Session 13: only the head of the order that top-k / top-p
 * walk is sorted (src/runtime/sampling.ts, `Buckets`): temperature 0.7–1 with top_p 0.9 went from
 * 8.9–9.4 ms a token to 1.6–3.2 ms (1.3–2.5 ms without the full sorts interleaved). Session 16: the
 * weights' exp is `expNeg` (two tables and a short polynomial) instead of V8's `Math.exp`: the path
 * without a cut is timed beside the same path with `Math.exp` (the sampler before), interleaved.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/runtime/engine.ts";
import { loadModelPackage } from "../src/runtime/model-package.ts";
import { nodeBackend } from "../src/runtime/node-backend.ts";
import { argmax, createSampler } from "../src/runtime/sampling.ts";
import { seededUniform } from "../src/runtime/random.ts";
import { createTokenizer } from "../src/runtime/tokenizer.ts";

const { values } = parseArgs({ options: { model: { type: "string", default: "models/smollm2-135m" }, rounds: { type: "string", default: "60" } } });
const dir = values.model!;
const pkg = await loadModelPackage(async (p) => new Uint8Array(readFileSync(join(dir, p))));
const engine = await Engine.create(pkg, { backend: nodeBackend({ threads: 1 }) });
const tokenizer = createTokenizer(pkg);
const prompts = ["What does the Pulse plan cost per seat?", "Write a haiku about the sea.", "How do I reset my password?", "Explain what an API rate limit is."];
const rows: Float32Array[] = [];
for (const content of prompts) rows.push((await engine.forward(tokenizer.applyChatTemplate([{ role: "user", content }]).ids)).logits);

const fullSort = (l: Float32Array) => Float32Array.from(l).sort().reverse();
/** The path without a cut as it was before session 16: V8's `Math.exp` for the weights, then the walk in index order. */
function mathExpSampler(seed: number): (l: Float32Array) => number {
  const uniform = seededUniform(seed);
  const weights = new Float64Array(rows[0]!.length);
  return (l) => {
    const max = l[argmax(l)]!;
    let total = 0;
    for (let i = 0; i < l.length; i++) total += weights[i] = Math.exp(l[i]! - max);
    let u = uniform() * total;
    for (let i = 0; i < l.length; i++) if ((u -= weights[i]!) < 0) return i;
    return l.length - 1;
  };
}
const settings = [
  { temperature: 0.2, topK: 0, topP: 0.9 }, // SmolLM2's generation_config.json
  { temperature: 0.7, topK: 0, topP: 0.9 },
  { temperature: 1, topK: 0, topP: 0.9 },
  { temperature: 1, topK: 0, topP: 1 },
];
console.log(`${dir}: ${rows[0]!.length} logits, ${prompts.length} prompts, ${values.rounds} rounds`);
for (const cfg of settings) {
  const sample = createSampler({ ...cfg, seed: 1 });
  // the baseline: sorting every logit (what top-k / top-p did before session 12), or without a cut V8's Math.exp
  const noCut = cfg.topP === 1 && cfg.temperature === 1;
  const baseline = noCut ? mathExpSampler(1) : fullSort;
  let [ours, theirs] = [0, 0];
  for (let r = 0; r < Number(values.rounds); r++)
    for (const l of rows) {
      let t = performance.now();
      sample(l);
      ours += performance.now() - t;
      t = performance.now();
      baseline(l);
      theirs += performance.now() - t;
    }
  const per = (ms: number) => (ms / (Number(values.rounds) * rows.length)).toFixed(3);
  console.log(`temperature ${cfg.temperature}, top_p ${cfg.topP}: ${per(ours)} ms a token (${noCut ? "the same path with Math.exp" : "sorting every logit alone"}: ${per(theirs)} ms, ${(theirs / ours).toFixed(2)}×)`);
}
