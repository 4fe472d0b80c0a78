/**
 * The playground end to end on the Node host (`npm start`), as it serves a real model: chat runs
 * an fp32 package on onnxruntime-node while browsers get the same base in 4 bits (GGUF blocks
 * carried into MatMulNBits) from `/v1/model-package`, and the adapters the host registered are
 * accepted by that 4-bit package. The model is small (the demo architecture quantized to
 * Q4_1/Q8_0 in the test, test/support/q4-model.ts): SmolLM2 itself on SwiftShader is software
 * WebGPU and too slow for CI. Screenshots go to test-results/browser/.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModelPackage } from "../../src/builder/package.ts";
import { q4Checkpoint, q4Package } from "../support/q4-model.ts";
import { launchChromium, openPage, screenshot } from "./support/chromium.ts";
import { startNodeHostProcess } from "./support/node-host.ts";
import { ask, QUESTION, startBrowserRuntime } from "./support/playground-page.ts";
import type { DevWorker } from "./support/wrangler-dev.ts";

let tmp: string;
let host: DevWorker;
let browser: Browser;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "lora-edge-playground-node-"));
  const ckpt = q4Checkpoint();
  writeModelPackage(join(tmp, "fp32"), q4Package(ckpt, "fp32").files);
  writeModelPackage(join(tmp, "int4"), q4Package(ckpt, "int4").files);
  host = await startNodeHostProcess({ model: join(tmp, "fp32"), browserModel: join(tmp, "int4") });
  browser = await launchChromium({ webgpu: true });
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("the playground on the Node host", () => {
  it("is served at /, and /v1/model-package hands browsers the 4-bit package of the fp32 base chat runs (same base identity, other package)", async () => {
    const page = await fetch(host.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("lora-edge playground");
    expect((await fetch(`${host.url}/playground/playground.js`)).status).toBe(200);
    expect((await fetch(`${host.url}/models/demo/manifest.json`)).status).toBe(404);
    const health = (await (await fetch(`${host.url}/healthz`)).json()) as { quantization: string; model_hash: string; base_id: string; engine: string };
    const pkg = (await (await fetch(`${host.url}/v1/model-package`)).json()) as { hash: string; base_id: string; manifest: { quantization: { weights: string; lossless?: boolean } } };
    expect(health).toMatchObject({ quantization: "fp32", engine: "node" });
    expect(pkg.manifest.quantization).toMatchObject({ weights: "int4", lossless: true });
    expect(pkg.hash).not.toBe(health.model_hash);
    expect(pkg.base_id).toBe(health.base_id);
    const feeds = await fetch(`${host.url}/v1/adapter-feeds/support-demo`);
    expect(feeds.headers.get("x-lora-base")).toBe(pkg.base_id);
  });

  it("answers a support question on the edge (fp32 on onnxruntime-node), then in this browser on WebGPU with the 4-bit package and the support adapter", async () => {
    const { page, errors } = await openPage(browser, host.url);
    try {
      await expect.poll(() => page.locator("#model option").allTextContents()).toContain("support-demo");
      await page.getByLabel("Max tokens").fill("16");
      const edge = await ask(page, QUESTION);
      expect(edge.details).toMatchObject({ answered: "on the edge", domain: "support", adapter: "support-demo@1", "route reason": "classifier" });
      const status = await startBrowserRuntime(page);
      expect(status.progressShown).toBe(true);
      expect(status.final).toMatch(/^The model \(demo-q4, int4\) runs in this browser on WebGPU: [\d.]+ MiB, 0\.0 MiB from the browser's cache/);
      const { details, updates, answer } = await ask(page, QUESTION);
      expect(answer.length).toBeGreaterThan(0);
      expect(updates).toBeGreaterThan(2);
      expect(details).toMatchObject({ answered: "in this browser (webgpu)", domain: "support", adapter: "support-demo@1", "route reason": "classifier" });
      await screenshot(page, "playground-node-browser-int4");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
