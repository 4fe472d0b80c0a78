/**
 * The playground end to end, in a real browser against the Worker as `npm run dev` serves it: a
 * support question with model `auto` streams an answer and shows the routing decision, on the edge
 * and in the browser. Screenshots go to test-results/browser/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchChromium, openPage, screenshot } from "./support/chromium.ts";
import { ask, QUESTION, startBrowserRuntime } from "./support/playground-page.ts";
import { startWorker, type DevWorker } from "./support/wrangler-dev.ts";

let worker: DevWorker;
let browser: Browser;

beforeAll(async () => {
  worker = await startWorker();
  browser = await launchChromium({ webgpu: true });
});
afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

describe("the playground", () => {
  it("is public at / while the model package leaves only through the Worker's routes", async () => {
    const page = await fetch(worker.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("lora-edge playground");
    expect((await fetch(`${worker.url}/playground/playground.js`)).status).toBe(200);
    for (const path of ["/models/demo/manifest.json", "/models/demo/model.weights", "/models/router/router.json"]) expect((await fetch(worker.url + path)).status, path).toBe(404);
    expect((await fetch(`${worker.url}/v1/model-package`)).status).toBe(200);
  });

  it("answers a support question on the edge with auto: streamed text, routed to support-demo, timings and tokens/s shown", async () => {
    const { page, errors } = await openPage(browser, worker.url);
    try {
      await expect.poll(() => page.locator("#model option").allTextContents()).toContain("support-demo");
      // greedy: the same reply every run (with the package's default sampling and a fresh seed, the
      // random-weight demo model sometimes stopped after a token or two: one CI run saw 2 updates)
      await page.locator("#temperature").fill("0");
      const { details, updates, answer } = await ask(page, QUESTION);
      expect(answer.length).toBeGreaterThan(0);
      expect(updates).toBeGreaterThan(2); // text arrived in pieces
      expect(details).toMatchObject({ answered: "on the edge", domain: "support", adapter: "support-demo@1", "route reason": "classifier" });
      expect(Number(details.confidence)).toBeGreaterThan(0.5);
      expect(details.timing).toMatch(/route [\d.]+ ms · adapter-load [\d.]+ ms/);
      expect(Number.parseFloat(details["tokens/s"]!)).toBeGreaterThan(0);
      await screenshot(page, "playground-edge");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("answers with a weighted mix of adapters on the edge: the composition is named, no routing", async () => {
    const { page, errors } = await openPage(browser, worker.url);
    try {
      await expect.poll(() => page.locator("#model option").allTextContents()).toContain("support-demo");
      await page.getByLabel("Adapter", { exact: true }).selectOption("mix");
      await page.getByLabel("support-demo", { exact: true }).fill("1");
      await page.getByLabel("sales-demo", { exact: true }).fill("0.5");
      await page.getByLabel("technical-demo", { exact: true }).fill("0");
      const { details } = await ask(page, "Hello there, can you help?");
      expect(details).toMatchObject({ answered: "on the edge", domain: "none", confidence: "n/a", "route reason": "explicit" });
      expect(details.adapter).toBe("sales-demo@1*0.5+support-demo@1");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("answers the same question in this browser on WebGPU: the model downloads, routing still comes from the Worker", async () => {
    const { page, errors } = await openPage(browser, worker.url);
    try {
      await expect.poll(() => page.locator("#model option").allTextContents()).toContain("support-demo");
      await page.getByLabel("Max tokens").fill("16"); // WebGPU on SwiftShader is software: keep the answer short
      const status = await startBrowserRuntime(page);
      expect(status.seen.some((s) => /^Downloading the model: [\d.]+ of [\d.]+ MiB$/.test(s))).toBe(true);
      expect(status.progressShown).toBe(true);
      expect(status.final).toMatch(/on WebGPU: [\d.]+ MiB, 0\.0 MiB from the browser's cache/);
      const { details, updates, answer } = await ask(page, QUESTION);
      expect(answer.length).toBeGreaterThan(0);
      expect(updates).toBeGreaterThan(2);
      expect(details).toMatchObject({ domain: "support", adapter: "support-demo@1", "route reason": "classifier" });
      expect(details.answered).toBe("in this browser (webgpu)");
      expect(details.timing).toMatch(/route [\d.]+ ms · adapter-load [\d.]+ ms · prefill [\d.]+ ms · decode [\d.]+ ms/);
      await screenshot(page, "playground-browser");
      // a second visit reads the whole package from the Cache API
      await page.reload();
      expect((await startBrowserRuntime(page)).final).toMatch(/on WebGPU: [\d.]+ MiB, all from the browser's cache/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
