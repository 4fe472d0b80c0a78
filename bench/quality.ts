/**
 * `npm run bench:quality -- --ref <fp32 package> --model <package> [--model ...] [--backend node]`: how far a
 * quantized package's logits are from a reference package on real chat text, teacher-forced.
 *
 * Text: the held-out conversations of data/chat/*.eval.jsonl (never used for calibration), rendered
 * with the reference's chat template, packed into sequences of up to 512 tokens until `--positions`
 * positions are covered. Per model: relative L2 of all logits against the reference (over all
 * positions together, and the worst and median position), top-1 agreement, and perplexity of the
 * text's next tokens next to the reference's.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/runtime/engine.ts";
import { loadModelPackage } from "../src/runtime/model-package.ts";
import { nodeBackend } from "../src/runtime/node-backend.ts";
import type { ChatMessage } from "../src/runtime/tokenizer.ts";

const DATA = fileURLToPath(new URL("../data/chat/", import.meta.url));
const SEQUENCE = 512;

export type Quality = { positions: number; rel_l2: number; rel_l2_median: number; rel_l2_max: number; top1_agreement: number; perplexity: number; ref_perplexity: number };

async function engineAt(dir: string, backend: "wasm" | "node"): Promise<Engine> {
  const pkg = await loadModelPackage(async (p) => new Uint8Array(readFileSync(join(dir, p))));
  // onnxruntime-node runs MatMulNBits' int8 kernels (int8 blocks); WASM computes them in fp32
  return Engine.create(pkg, backend === "node" ? { backend: nodeBackend({ threads: 1 }) } : {});
}

/** Held-out conversations as token sequences of at most SEQUENCE tokens, `positions` in all. */
export function evalSequences(engine: Engine, positions: number): number[][] {
  const out: number[][] = [];
  let total = 0;
  for (const f of readdirSync(DATA).filter((f) => f.endsWith(".eval.jsonl")).sort()) {
    for (const line of readFileSync(join(DATA, f), "utf8").split("\n").filter(Boolean)) {
      const { messages } = JSON.parse(line) as { messages: ChatMessage[] };
      const ids = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: false }).ids.slice(0, SEQUENCE);
      out.push(ids);
      total += ids.length;
      if (total >= positions) return out;
    }
  }
  return out;
}

function logSoftmaxAt(row: Float32Array, id: number): number {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return row[id]! - max - Math.log(sum);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * @example const q = await compareQuality(ref, [int8], 1000); // [{ rel_l2: 0.02, top1_agreement: 0.99, ... }]
 */
export async function compareQuality(ref: Engine, models: Engine[], positions: number): Promise<Quality[]> {
  const V = ref.manifest.architecture.vocab_size;
  const seqs = evalSequences(ref, positions);
  const acc = models.map(() => ({ num: 0, den: 0, per: [] as number[], agree: 0, nll: 0 }));
  let refNll = 0;
  let n = 0;
  let scored = 0;
  for (const ids of seqs) {
    const want = (await ref.forward(ids, { logitsToKeep: ids.length })).logits;
    const gots = [];
    for (const m of models) gots.push((await m.forward(ids, { logitsToKeep: ids.length })).logits);
    for (let p = 0; p < ids.length; p++) {
      const r = want.subarray(p * V, (p + 1) * V);
      const top = argmax(r);
      if (p + 1 < ids.length) refNll -= logSoftmaxAt(r, ids[p + 1]!);
      gots.forEach((got, i) => {
        const g = got.subarray(p * V, (p + 1) * V);
        let num = 0;
        let den = 0;
        for (let j = 0; j < V; j++) {
          num += (g[j]! - r[j]!) ** 2;
          den += r[j]! ** 2;
        }
        const a = acc[i]!;
        a.num += num;
        a.den += den;
        a.per.push(Math.sqrt(num / den));
        if (argmax(g) === top) a.agree++;
        if (p + 1 < ids.length) a.nll -= logSoftmaxAt(g, ids[p + 1]!);
      });
      n++;
      if (p + 1 < ids.length) scored++;
    }
  }
  return acc.map((a) => {
    const per = a.per.sort((x, y) => x - y);
    return {
      positions: n,
      rel_l2: +Math.sqrt(a.num / a.den).toPrecision(4),
      rel_l2_median: +per[Math.floor(per.length / 2)]!.toPrecision(4),
      rel_l2_max: +per[per.length - 1]!.toPrecision(4),
      top1_agreement: +(a.agree / n).toFixed(4),
      perplexity: +Math.exp(a.nll / scored).toPrecision(5),
      ref_perplexity: +Math.exp(refNll / scored).toPrecision(5),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { ref: { type: "string" }, model: { type: "string", multiple: true }, positions: { type: "string", default: "1000" }, backend: { type: "string", default: "wasm" }, help: { type: "boolean", short: "h" } } });
  if (values.help || !values.ref || !values.model?.length) {
    process.stdout.write("Usage: npm run bench:quality -- --ref <fp32 package dir> --model <package dir> [--model ...] [--positions 1000] [--backend wasm|node]\n");
    process.exit(values.help ? 0 : 1);
  }
  const backend = values.backend === "node" ? "node" : "wasm";
  const ref = await engineAt(values.ref, backend);
  const models = [];
  for (const m of values.model) models.push(await engineAt(m, backend));
  const results = await compareQuality(ref, models, Number(values.positions));
  console.log(JSON.stringify(Object.fromEntries(values.model.map((m, i) => [m, results[i]])), null, 2));
}
