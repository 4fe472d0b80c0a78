/**
 * Debian's chromium, headless, driven by playwright-core (which never downloads a browser of its
 * own). With `webgpu`, WebGPU runs on SwiftShader (Vulkan in software: the flags in FACTS.md, without
 * which the adapter request never resolves), or with `realGpu` on the machine's own GPU through
 * Vulkan; without `webgpu` the page has no `navigator.gpu` at all.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/** The chromium binary: `CHROMIUM_PATH`, else Debian's (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SWIFTSHADER = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader"];
const GPU = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=native", "--ignore-gpu-blocklist", "--use-angle=vulkan"];
/** Where browser tests leave screenshots (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL("../../../test-results/browser/", import.meta.url));

export async function launchChromium(opts: { webgpu: boolean; realGpu?: boolean }): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  const gpuFlags = opts.webgpu ? (opts.realGpu ? GPU : SWIFTSHADER) : ["--disable-blink-features=WebGPU"];
  return chromium.launch({ executablePath: CHROMIUM, args: ["--headless=new", "--no-sandbox", ...gpuFlags] });
}

/** A new page whose console errors and uncaught exceptions are collected (tests print them on failure). */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

/** Save a screenshot under test-results/browser/; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
