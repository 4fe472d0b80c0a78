/**
 * Batching on the package `npm start` serves by default (SmolLM2-135M-Instruct, int4 carrying the
 * GGUF's blocks, computing in fp32; the Node host's layout) changes no text: the shipped domain
 * adapters and the base, asked real held-out questions at once, decode in shared steps and give
 * the tokens of their one-by-one runs, logits within 1e-5 relative L2. That is why the Node host
 * batches such packages by default (`computesInFloat32`, src/node/host.ts).
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/runtime/engine.ts";
import { computesInFloat32, type ModelManifest } from "../../src/runtime/manifest.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { argmax, createSampler } from "../../src/runtime/sampling.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { relL2 } from "../reference/llama64.ts";
import { readSmollm2, shippedAdapterFeeds, smollm2Package } from "../support/smollm2.ts";

const TOKENS = 10;
let batched: Engine;
let solo: Engine;
let manifest: ModelManifest;

beforeAll(async () => {
  const { files } = smollm2Package(await readSmollm2(), "smollm2-int4-batch", "int4", { batch: true, splitEightBit: true });
  const pkg = await loadModelPackage(async (p) => files[p]!, { verify: false });
  manifest = pkg.manifest;
  const backend = nodeBackend({ threads: 1 });
  batched = await Engine.create(pkg, { backend, batching: true });
  solo = await Engine.create(pkg, { backend, batching: false });
}, 600_000);

const question = (domain: string, i: number) => (JSON.parse(readFileSync(`data/chat/heldout/${domain}.jsonl`, "utf8").trim().split("\n")[i]!) as { question: string }).question;

describe("batching SmolLM2's int4 package (fp32 compute), the shipped adapters and the base in one batch", () => {
  it("is a package the Node host batches by default", () => {
    expect(manifest.quantization).toMatchObject({ weights: "int4", activations: "fp32", lossless: true });
    expect(computesInFloat32(manifest.quantization)).toBe(true);
  });

  it(`each row's ${TOKENS} greedy tokens equal its solo run, logits within 1e-5 relative L2, in shared steps`, async () => {
    const rows: Array<{ domain: string; lora: LoraFeeds | undefined }> = [];
    for (const domain of ["sales", "support", "technical"]) rows.push({ domain, lora: await shippedAdapterFeeds(solo, domain) });
    rows.push({ domain: "support", lora: undefined });
    const runs = rows.map(({ domain, lora }, i) => {
      const promptIds = solo.tokenizer.applyChatTemplate([{ role: "user", content: question(domain, i) }], { addGenerationPrompt: true }).ids;
      const sample = createSampler({ temperature: 0, topK: 0, topP: 1, seed: 0 });
      const logits: Float32Array[] = [];
      const seq = batched.batcher!.add({ promptIds, lora, maxTokens: TOKENS, stopIds: new Set(), prefillChunk: 128, sample: (l) => (logits.push(l.slice()), sample(l)) });
      const ids = (async () => {
        const out: number[] = [];
        for (let id; (id = await seq.next()) !== undefined; ) out.push(id);
        seq.leave();
        return out;
      })();
      return { promptIds, lora, logits, ids };
    });
    const got = await Promise.all(runs.map((r) => r.ids));
    expect(batched.batcher!.stats.widestStep).toBe(rows.length);
    for (const [i, run] of runs.entries()) {
      expect(got[i]).toHaveLength(TOKENS);
      // the solo path: prefill, then one step per token the batched row produced
      const seq = solo.sequence(run.lora);
      try {
        let logits = await seq.step(run.promptIds);
        for (let t = 0; t < TOKENS; t++) {
          expect(relL2(run.logits[t]!, logits), `row ${i}, token ${t}`).toBeLessThan(1e-5);
          expect(got[i]![t], `row ${i}, token ${t}`).toBe(argmax(logits));
          if (t + 1 < TOKENS) logits = await seq.step([got[i]![t]!]);
        }
      } finally {
        seq.release();
      }
    }
    // the adapters answer differently from the base (the rows are not all one computation)
    expect(new Set(got.map((ids) => ids.join(","))).size).toBe(rows.length);
    expect(batched.memory().sequenceBytes).toBe(0);
  }, 600_000);
});

describe("computesInFloat32: which packages batch without changing text", () => {
  const q = (weights: "fp32" | "int8" | "int4", activations?: "fp32" | "int8") => ({ weights, scheme: "", ...(activations ? { activations } : {}) });
  it.each([
    [q("fp32"), true],
    [q("int4", "fp32"), true],
    [q("int4", "int8"), false],
    [q("int4"), false], // built before the builder recorded it: not assumed
    [q("int8"), false],
  ])("%o → %s", (quantization, want) => expect(computesInFloat32(quantization)).toBe(want));
});
