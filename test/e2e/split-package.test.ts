/**
 * The Worker serving a model package bigger than a static asset may be (issue 11): SmolLM2-135M's
 * 4-bit package (the GGUF's own blocks, 110 MiB of weights) written with the weights split into
 * parts under the 25 MiB limit, as `npm run model:smollm2 -- --format int4 --split-mib 24` writes
 * it, served by the bundled Worker in workerd from its static assets (`MODEL_PACKAGE` var) and read
 * back as one file. Oracle: the fp32 package built from the same GGUF, run in this process — the
 * 4-bit package is lossless, so the Worker's greedy reply must be the fp32 engine's, token for token.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/runtime/engine.ts";
import { MAX_ASSET_BYTES } from "../../tools/build-site.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import { startBundledWorker, type BundledWorker } from "../support/bundled-worker.ts";
import { readSmollm2, smollm2Package } from "../support/smollm2.ts";

const NAME = "smollm2-135m-int4-split";
const MESSAGES = [{ role: "user" as const, content: "What is the capital of France? Answer in one sentence." }];
const TOKENS = 8;

let assets: string;
let worker: BundledWorker | undefined;
let files: Record<string, Uint8Array>;
let expected: string;

beforeAll(async () => {
  const ckpt = await readSmollm2();
  // as `--split-mib 24` writes it: the manifest lists the parts, and keeps the whole file's size and hash
  files = smollm2Package(ckpt, NAME, "int4", { splitWeightsBytes: 24 * 2 ** 20 }).files;
  assets = mkdtempSync(join(tmpdir(), "lora-edge-split-assets-"));
  for (const [path, bytes] of Object.entries(files)) {
    const to = join(assets, "models", NAME, path);
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, bytes);
  }

  // the oracle: fp32, in this process
  const fp32 = smollm2Package(ckpt, "smollm2-fp32", "fp32");
  const engine = await Engine.create(await loadModelPackage(async (p) => fp32.files[p]!, { verify: false }));
  const { ids } = engine.tokenizer.applyChatTemplate(MESSAGES, { addGenerationPrompt: true });
  const out: number[] = [];
  for await (const ev of engine.generate({ promptIds: ids, maxTokens: TOKENS, sampling: { temperature: 0, topK: 0, topP: 1, seed: 0 } })) if (ev.type === "token") out.push(ev.id);
  expected = engine.tokenizer.decode(out, { skipSpecialTokens: true });

  worker = await startBundledWorker({ assetsDir: assets, vars: { MODEL_PACKAGE: NAME, ADMIN_TOKEN: "t" } });
}, 900_000);

afterAll(async () => {
  await worker?.dispose();
  if (assets) rmSync(assets, { recursive: true, force: true });
});

describe("the Worker serving SmolLM2-135M's 4-bit package split into static-asset-sized parts", () => {
  it("every file is under the 25 MiB asset limit, and the weights are in several parts", () => {
    for (const path of Object.keys(files)) expect(statSync(join(assets, "models", NAME, path)).size, path).toBeLessThanOrEqual(MAX_ASSET_BYTES);
    expect(Object.keys(files).filter((p) => /\.weights\.\d{3}$/.test(p)).length).toBeGreaterThanOrEqual(5);
  });

  it("answers a chat with the fp32 engine's greedy reply, and names the package", async () => {
    const res = await fetch(new URL("/v1/chat/completions", worker!.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "base", messages: MESSAGES, max_tokens: TOKENS, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(TOKENS);
    expect(body.choices[0]!.message.content).toBe(expected);
    expect(expected).toMatch(/Paris/);
    const health = (await (await fetch(new URL("/healthz", worker!.url))).json()) as { model: string; quantization: string };
    expect(health).toMatchObject({ model: NAME, quantization: "int4" });
  }, 600_000);
});
