/**
 * The browser runtime in a real browser against the WASM engine in Node, on the demo model's
 * architecture and seed in three weight formats, with and without a random r=16 adapter on every
 * projection: a prefill's logits at every position, then decode steps fed from the KV cache the
 * backend keeps (GPU buffers on WebGPU).
 *
 * `int4-carried` is the browsers' format for the real model: a small model quantized to GGUF's
 * Q4_1/Q8_0 blocks in the test (test/support/q4-model.ts) and carried into MatMulNBits with float
 * zero points, as `npm run model:smollm2` builds SmolLM2's browser package.
 *
 * Tolerances, as relative L2 per step over the whole logits block:
 * - fp32, int4 and int4-carried (`MatMulNBits`, which the WebGPU EP runs itself): 1e-4. Both sides
 *   compute the same function in fp32 with different kernels (summation order, fused multiply-adds,
 *   SwiftShader's float maths); measured differences are around 1e-6.
 * - int8 (the demo as the Worker serves it): `DynamicQuantizeMatMul` has no WebGPU kernel and runs
 *   on ORT's CPU EP inside the WebGPU session, but it quantizes its input activations per tensor: an
 *   input that differs in the last bits (from RMSNorm or attention computed on the GPU) can round to
 *   the neighbouring int8 step, so errors are quantization-sized: 5e-2, the README's int8 tolerance.
 * - the WASM fallback (no WebGPU in the browser) runs the Worker's own backend and wasm binary:
 *   bit for bit Node's logits.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { writeModelPackage } from "../../src/builder/package.ts";
import { q4Checkpoint, q4Package } from "../support/q4-model.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/runtime/engine.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { randomFeeds } from "../support/feeds.ts";
import { launchChromium } from "./support/chromium.ts";
import { buildDemoVariant, serveHarness, type HarnessServer } from "./support/harness-page.ts";
import type { SequenceCase, SequenceResult } from "./harness.ts";

const FORMATS = { fp32: 1e-4, int4: 1e-4, "int4-carried": 1e-4, int8: 5e-2 } as const;
type Format = keyof typeof FORMATS;

let tmp: string;
let harness: HarnessServer;
const pkgDirs: Record<Format, string> = { fp32: "", int4: "", "int4-carried": "", int8: fileURLToPath(new URL("../../models/demo/", import.meta.url)) };

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "lora-edge-browser-engine-"));
  pkgDirs.fp32 = await buildDemoVariant("fp32", join(tmp, "demo-fp32"));
  pkgDirs.int4 = await buildDemoVariant("int4", join(tmp, "demo-int4"));
  pkgDirs["int4-carried"] = join(tmp, "demo-q4-int4/");
  writeModelPackage(pkgDirs["int4-carried"], q4Package(q4Checkpoint(), "int4").files);
  harness = await serveHarness(pkgDirs);
});
afterAll(async () => {
  await harness?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A prompt of 10 tokens, then 4 decode steps, without and with an adapter. */
const CASES: SequenceCase[] = [
  { prompt: [1, 17, 400, 23, 1999, 512, 88, 7, 1024, 3], decode: [55, 1200, 2047, 600], loraRank: 0, loraSeed: 0 },
  { prompt: [1, 17, 400, 23, 1999, 512, 88, 7, 1024, 3], decode: [55, 1200, 2047, 600], loraRank: 16, loraSeed: 5 },
];

/** The same sequences on the WASM engine in Node. */
async function nodeSteps(format: Format): Promise<number[][][]> {
  const pkg = await loadModelPackage(async (p) => new Uint8Array(await readFile(pkgDirs[format] + p)));
  const engine = await Engine.create(pkg);
  const steps: number[][][] = [];
  for (const c of CASES) {
    const seq = engine.sequence(c.loraRank ? randomFeeds(pkg.manifest.architecture, c.loraRank, c.loraSeed) : undefined);
    try {
      const logits = [Array.from(await seq.step(c.prompt, c.prompt.length))];
      for (const id of c.decode) logits.push(Array.from(await seq.step([id])));
      steps.push(logits);
    } finally {
      seq.release();
    }
  }
  return steps;
}

function inBrowser(browser: Browser, format: Format, prefer: "webgpu" | "wasm"): Promise<SequenceResult> {
  return harness.call(browser, "runSequences", `/pkg/${format}/`, prefer, CASES);
}

function relL2(a: number[], b: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** Largest relative L2 over every step of every case; also checks the shapes agree. */
function worstError(got: number[][][], want: number[][][]): number {
  expect(got.map((c) => c.map((s) => s.length))).toEqual(want.map((c) => c.map((s) => s.length)));
  return Math.max(...got.flatMap((c, i) => c.map((s, j) => relL2(s, want[i]![j]!))));
}

describe("the browser runtime on WebGPU", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const format of Object.keys(FORMATS) as Format[]) {
    it(`gives the WASM engine's logits on the ${format} demo, prefill and KV-cache decode, without and with an r=16 adapter (rel L2 ≤ ${FORMATS[format]})`, async () => {
      const [got, want] = await Promise.all([inBrowser(browser, format, "webgpu"), nodeSteps(format)]);
      expect(got.backend).toBe("webgpu");
      const err = worstError(got.steps, want);
      console.log(`webgpu vs wasm, ${format}: worst rel L2 ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(FORMATS[format]);
      // the adapter changed the answer: the comparison covers the side paths, not only the base
      expect(relL2(got.steps[1]![0]!, got.steps[0]![0]!)).toBeGreaterThan(1e-3);
      // a decode step sends its token (and logits_to_keep) and gets one row of logits back; the KV
      // cache stays on the GPU (every present kept: 2 layers × key, value) and so do the LoRA inputs
      const decode = got.traffic.filter((_, i) => i % (1 + CASES[0]!.decode.length) !== 0);
      const vocab = got.steps[0]![1]!.length;
      expect(new Set(decode.map((t) => JSON.stringify(t)))).toEqual(new Set([JSON.stringify({ hostInputBytes: 16, outputBytes: 4 * vocab, kept: 4 })]));
    });
  }
});

describe("the browser runtime without WebGPU", () => {
  it("falls back to the Worker's WASM engine and gives Node's logits bit for bit", async () => {
    const browser = await launchChromium({ webgpu: false });
    try {
      const [got, want] = await Promise.all([inBrowser(browser, "fp32", "webgpu"), nodeSteps("fp32")]);
      expect(got.backend).toBe("wasm");
      expect(got.steps).toEqual(want);
    } finally {
      await browser.close();
    }
  });
});
