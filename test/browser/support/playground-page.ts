/**
 * Driving the playground page like a person: type and send a question, wait for the streamed
 * answer and read its routing details; switch to "in this browser" and follow the download.
 */
import type { Page } from "playwright-core";

/** A support question the router sends to the support domain. */
export const QUESTION = "My parcel never arrived. Where is my order?";

/** Send `text` with the keyboard; resolve with the answer's details and how many times its text changed while streaming. */
export async function ask(page: Page, text: string): Promise<{ details: Record<string, string>; updates: number; answer: string }> {
  const before = await page.locator("#log li.assistant").count();
  // count the answer's text updates as they happen: streaming shows text before the answer ends
  await page.evaluate(() => {
    const w = window as unknown as { textUpdates: number };
    w.textUpdates = 0;
    new MutationObserver((records) => {
      if (records.some((r) => (r.target as Element).closest?.(".answer") || r.target.parentElement?.closest(".answer"))) w.textUpdates++;
    }).observe(document.getElementById("log")!, { subtree: true, childList: true, characterData: true });
  });
  await page.getByLabel(/^Message/).fill(text);
  await page.getByLabel(/^Message/).press("Enter");
  const item = page.locator("#log li.assistant").nth(before);
  await item.locator("dl.details, .answer").first().waitFor({ timeout: 240_000 }); // in the browser, the first token comes after prefill on the page's engine
  await page.waitForFunction((i) => {
    const li = document.querySelectorAll("#log li.assistant")[i];
    return li && li.getAttribute("aria-busy") === null && (li.querySelector("dl.details") || li.classList.contains("error"));
  }, before, { timeout: 240_000 });
  const answer = (await item.locator(".answer").textContent()) ?? "";
  if (await item.evaluate((li) => li.classList.contains("error"))) throw new Error(`the playground answered with an error: ${answer}`);
  const dts = await item.locator("dl.details dt").allTextContents();
  const dds = await item.locator("dl.details dd").allTextContents();
  const updates = await page.evaluate(() => (window as unknown as { textUpdates: number }).textUpdates);
  return { details: Object.fromEntries(dts.map((k, i) => [k, dds[i]!])), updates, answer };
}

/** Switch to "in this browser" and wait for the engine; every status text seen on the way, and whether the progress bar showed. */
export async function startBrowserRuntime(page: Page): Promise<{ seen: string[]; progressShown: boolean; final: string }> {
  await page.evaluate(() => {
    const w = window as unknown as { statuses: string[]; progressShown: boolean };
    [w.statuses, w.progressShown] = [[], false];
    const status = document.getElementById("runtime-status")!;
    const bar = document.getElementById("download")!;
    new MutationObserver(() => {
      w.statuses.push(status.textContent ?? "");
      w.progressShown ||= !bar.hidden;
    }).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.getByLabel("in this browser (WebGPU)").check();
  await page.waitForFunction(() => /runs in this browser|failed/.test(document.getElementById("runtime-status")!.textContent ?? ""), undefined, { timeout: 240_000 });
  const { statuses, progressShown } = await page.evaluate(() => {
    const w = window as unknown as { statuses: string[]; progressShown: boolean };
    return { statuses: w.statuses, progressShown: w.progressShown };
  });
  return { seen: statuses, progressShown, final: (await page.locator("#runtime-status").textContent()) ?? "" };
}
