/**
 * The playground page: a chat box that answers on the edge (the Worker's chat API, streamed) or in
 * this browser (the browser runtime, loaded on first use), with each answer's routing details.
 * Plain DOM, no framework: the page is one form and a list, and esbuild bundles it (tools/build-site.ts).
 */
import type { AnswerInfo, PlaygroundRequest } from "./answer.ts";
import { edgeChat, errorMessage } from "./edge-chat.ts";
import type { BrowserRuntime } from "./browser-chat.ts";
import type { DownloadProgress } from "./package-loader.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = $<HTMLOListElement>("log");
const form = $<HTMLFormElement>("chat");
const message = $<HTMLTextAreaElement>("message");
const send = $<HTMLButtonElement>("send");
const model = $<HTMLSelectElement>("model");
const mix = $<HTMLDivElement>("mix");
const temperature = $<HTMLInputElement>("temperature");
const status = $<HTMLParagraphElement>("runtime-status");
const progress = $<HTMLProgressElement>("download");

const history: PlaygroundRequest["messages"] = [];
let runtime: Promise<BrowserRuntime> | undefined;

/** The adapters `/v1/models` lists (every model but the base), as picker options and mix weights. */
async function loadModels(): Promise<void> {
  const res = await fetch("/v1/models");
  if (!res.ok) throw new Error(await errorMessage(res));
  const { data } = (await res.json()) as { data: Array<{ id: string; parent: string | null }> };
  const mixOption = model.querySelector('option[value="mix"]');
  for (const m of data.filter((d) => d.parent !== null)) {
    model.insertBefore(new Option(m.id, m.id), mixOption);
    const id = `weight-${m.id}`;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: m.id });
    const input = Object.assign(document.createElement("input"), { id, type: "number", min: "0", max: "1", step: "0.1", value: "0.5" });
    input.dataset.adapter = m.id;
    input.setAttribute("aria-describedby", "mix-help");
    mix.append(label, input);
  }
}

function where(): "edge" | "browser" {
  return (document.querySelector('input[name="where"]:checked') as HTMLInputElement).value as "edge" | "browser";
}

function request(): PlaygroundRequest {
  const adapters =
    model.value === "mix"
      ? [...mix.querySelectorAll<HTMLInputElement>("input[data-adapter]")].map((i) => ({ name: i.dataset.adapter!, weight: Number(i.value) })).filter((a) => a.weight !== 0)
      : undefined;
  return {
    messages: [...history],
    model: model.value === "mix" ? "auto" : model.value,
    ...(adapters ? { adapters } : {}),
    maxTokens: Number(($<HTMLInputElement>("max-tokens")).value),
    // empty: the model's own sampling (its generation_config.json), as for an API request without one
    ...(temperature.value.trim() === "" ? {} : { temperature: Number(temperature.value) }),
  };
}

/** The browser runtime, loaded once; its download shows in the progress bar. */
function browserRuntime(): Promise<BrowserRuntime> {
  runtime ??= (async () => {
    const { loadBrowserRuntime } = await import("./browser-chat.ts");
    progress.hidden = false;
    status.textContent = "Downloading the model…";
    let last: DownloadProgress = { loaded: 0, total: 0, fromCache: 0 };
    const rt = await loadBrowserRuntime({
      onProgress: (p) => {
        last = p;
        progress.max = p.total;
        progress.value = p.loaded;
        status.textContent = p.loaded < p.total ? `Downloading the model: ${mib(p.loaded)} of ${mib(p.total)} MiB` : "Starting the engine…";
      },
    });
    progress.hidden = true;
    const on = rt.backend === "webgpu" ? "WebGPU" : "WASM (this browser has no WebGPU adapter)";
    const { name, quantization } = rt.engine.manifest;
    status.textContent = `The model (${name}, ${quantization.weights}) runs in this browser on ${on}: ${mib(last.total)} MiB, ${last.fromCache === last.total ? "all" : `${mib(last.fromCache)} MiB`} from the browser's cache.`;
    return rt;
  })().catch((err: unknown) => {
    runtime = undefined;
    progress.hidden = true;
    status.textContent = `The browser runtime failed to start: ${String(err)}`;
    throw err;
  });
  return runtime;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);

function item(cls: string, text = ""): HTMLLIElement {
  const li = document.createElement("li");
  li.className = cls;
  if (text) li.textContent = text;
  log.append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function showDetails(li: HTMLLIElement, info: AnswerInfo): void {
  const dl = document.createElement("dl");
  dl.className = "details";
  const rows: Array<[string, string]> = [
    ["answered", info.where === "edge" ? "on the edge" : `in this browser (${info.where})`],
    ["domain", info.domain],
    ["confidence", info.confidence],
    ["adapter", info.adapter],
    ["route reason", info.reason],
    ["timing", info.timing.map((t) => `${t.name} ${t.ms.toFixed(1)} ms`).join(" · ") || "n/a"],
    ["tokens/s", `${info.tokensPerSecond.toFixed(1)} (${info.completionTokens} tokens)`],
  ];
  for (const [k, v] of rows) dl.append(Object.assign(document.createElement("dt"), { textContent: k }), Object.assign(document.createElement("dd"), { textContent: v }));
  li.append(dl);
}

async function submit(): Promise<void> {
  const text = message.value.trim();
  if (!text || send.disabled) return;
  history.push({ role: "user", content: text });
  item("user", text);
  message.value = "";
  send.disabled = true;
  const li = item("assistant");
  li.setAttribute("aria-busy", "true");
  const answer = Object.assign(document.createElement("p"), { className: "answer" });
  li.append(answer);
  let reply = "";
  const onText = (t: string) => {
    reply += t;
    answer.textContent = reply;
  };
  try {
    const req = request();
    const info = where() === "edge" ? await edgeChat(req, onText) : await (await import("./browser-chat.ts")).browserChat(await browserRuntime(), req, onText);
    history.push({ role: "assistant", content: reply });
    showDetails(li, info);
  } catch (err) {
    history.pop();
    li.className = "assistant error";
    answer.textContent = `${reply}${reply ? "\n" : ""}Error: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    li.removeAttribute("aria-busy");
    send.disabled = false;
    message.focus();
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  void submit();
});
message.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    void submit();
  }
});
model.addEventListener("change", () => {
  mix.hidden = model.value !== "mix";
});
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="where"]')) {
  radio.addEventListener("change", () => {
    if (where() === "browser") void browserRuntime().catch(() => {});
    else status.textContent = "";
  });
}
loadModels().catch((err: unknown) => {
  status.textContent = `Could not list the adapters: ${err instanceof Error ? err.message : String(err)}`;
});
