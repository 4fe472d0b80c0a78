/**
 * "Answer in this browser": the base model runs on this machine (WebGPU, or WASM where the browser
 * has none) while routing stays in the Worker. One answer = `POST /v1/route` (the same decision chat
 * would make) → the chosen adapters' prepared feeds from `/v1/adapter-feeds/…` (cached by the
 * browser: versions are immutable) → composed here → the chat template → `generate()`.
 * Loaded by the playground only when the page first answers in the browser.
 */
import { composeAdapters } from "../src/adapters/compose.ts";
import { deserializePreparedAdapter } from "../src/adapters/prepare.ts";
import type { Engine } from "../src/runtime/engine.ts";
import { samplingFor } from "../src/runtime/sampling.ts";
import type { AnswerInfo, PlaygroundRequest } from "./answer.ts";
import { errorMessage } from "./edge-chat.ts";
import { createBrowserEngine } from "./browser-engine.ts";
import type { DownloadProgress } from "./package-loader.ts";

/** The page's engine, and which backend it runs on ("webgpu", "wasm"). */
export type BrowserRuntime = { engine: Engine; backend: string };

/** Download (or read from the cache) the Worker's model package and start an engine on it. */
export async function loadBrowserRuntime(opts: { onProgress(p: DownloadProgress): void }): Promise<BrowserRuntime> {
  const engine = await createBrowserEngine(opts);
  return { engine, backend: engine.backend.name };
}

type RouteResult = { domain: string | null; confidence: number; reason: string; adapter: string | null };

/**
 * Answer one request in the browser, streaming text to `onText`.
 *
 * @example const info = await browserChat(runtime, req, (t) => (out.textContent += t));
 */
export async function browserChat(rt: BrowserRuntime, req: PlaygroundRequest, onText: (text: string) => void): Promise<AnswerInfo> {
  const { engine } = rt;
  const t0 = performance.now();
  const route: RouteResult = req.adapters
    ? { domain: null, confidence: 1, reason: "explicit", adapter: null }
    : await postJson<RouteResult>("/v1/route", { messages: req.messages, model: req.model });
  const t1 = performance.now();
  const wanted = req.adapters ?? (route.adapter ? [{ name: route.adapter, weight: 1 }] : []);
  const adapters = await Promise.all(wanted.map(async (w) => ({ ...(await fetchAdapter(engine, w.name)), weight: w.weight })));
  const lora = adapters.length ? composeAdapters(engine.manifest.architecture, adapters, { maxRank: engine.manifest.lora.max_rank }) : undefined;
  const t2 = performance.now();

  const { ids } = engine.tokenizer.applyChatTemplate(req.messages, { addGenerationPrompt: true });
  let first: number | undefined;
  let last = 0;
  let done: { prefillMs: number; decodeMs: number; completionTokens: number } | undefined;
  const sampling = samplingFor({ temperature: req.temperature }, engine.tokenizer.samplingDefaults); // as the server does
  for await (const ev of engine.generate({ promptIds: ids, maxTokens: req.maxTokens, sampling, ...(lora ? { lora } : {}) })) {
    if (ev.type === "done") done = ev;
    else if (ev.text) {
      first ??= performance.now();
      last = performance.now();
      onText(ev.text);
    }
  }
  const seconds = first === undefined ? 0 : (last - first) / 1000;
  const n = done?.completionTokens ?? 0;
  return {
    where: rt.backend,
    domain: route.domain ?? "none",
    confidence: req.adapters ? "n/a" : route.confidence.toFixed(4),
    adapter: adapters.length ? adapters.map((a) => (a.weight === 1 ? a.id : `${a.id}*${a.weight}`)).join("+") : "none",
    reason: routeReason(req, route),
    timing: [
      { name: "route", ms: t1 - t0 },
      { name: "adapter-load", ms: t2 - t1 },
      { name: "prefill", ms: done?.prefillMs ?? 0 },
      { name: "decode", ms: done?.decodeMs ?? 0 },
    ],
    completionTokens: n,
    tokensPerSecond: seconds > 0 ? (n - 1) / seconds : 0,
  };
}

/** The reason chat's `x-lora-route-reason` would give: a domain without a mapped adapter falls back to the base. */
function routeReason(req: PlaygroundRequest, route: RouteResult): string {
  if (req.adapters) return "explicit";
  if (req.model === "base") return "base";
  return route.reason === "classifier" && !route.adapter ? "fallback" : route.reason;
}

/** An adapter version's prepared feeds from the Worker, checked against the base this page runs. */
async function fetchAdapter(engine: Engine, name: string) {
  const res = await fetch(`/v1/adapter-feeds/${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error(await errorMessage(res));
  const adapter = deserializePreparedAdapter(new Uint8Array(await res.arrayBuffer()), engine.manifest.architecture, { baseId: engine.baseId });
  return { adapter, id: res.headers.get("x-lora-adapter") ?? name };
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(await errorMessage(res));
  return (await res.json()) as T;
}
