/**
 * Chat with registered adapters on a host's real storage: outputs equal a direct runtime call with
 * the same adapter and seed, the official `openai` client works unchanged, concurrency and
 * interleaving change nothing, routing (`auto`, `/v1/route`, runtime domains) picks the mapped
 * adapter, a client that goes away frees its memory, and storage faults are a 503 for the
 * affected request only.
 */
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import legalExamplesJsonl from "../../data/router/legal-examples.jsonl?raw";
import legalTestJsonl from "../../data/router/legal-test.jsonl?raw";
import { AdapterCache } from "../../src/adapters/cache.ts";
import { composeAdapters } from "../../src/adapters/compose.ts";
import { loadPeftAdapter } from "../../src/adapters/load-peft.ts";
import { prepareAdapter, type PreparedAdapter } from "../../src/adapters/prepare.ts";
import type { StoredAdapter } from "../../src/pipeline/select.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";
import { peftConfig, peftKey, randomPeftTensors, writeSafetensors, type ProjectionName } from "../reference/hf-checkpoint.ts";
import { adminClient, ARCH, errorOf, peftFiles, type PeftFiles, type TestHost } from "./support.ts";

export function adapterChatSuite(worker: TestHost) {
  const { call, push } = adminClient(worker);
  const storageSnapshot = () => worker.storageSnapshot();
  const embeddedEngine = () => worker.engine();

  type Msg = { role: "user" | "system" | "assistant"; content: string };
  const SUPPORT_Q: Msg[] = [{ role: "user", content: "My parcel never arrived and I want a refund for the order" }];
  const chat = async (body: object, fetcher: { fetch(r: Request): Response | Promise<Response> } = worker) =>
    fetcher.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));

  /** The adapter's feeds prepared straight from its PEFT files, with no registry or cache in between. */
  async function prepared(files: PeftFiles): Promise<PreparedAdapter> {
    const engine = await embeddedEngine();
    const arch = engine.manifest.architecture;
    return prepareAdapter(loadPeftAdapter(files, arch, { maxRank: engine.manifest.lora.max_rank }), arch, { baseWeight: await engine.baseWeights(), baseId: engine.baseId });
}

/** A DoRA adapter for the demo model: magnitudes near the served weights' column norms. */
async function doraFiles(): Promise<PeftFiles> {
  const baseWeight = await (await embeddedEngine()).baseWeights();
  const targets: ProjectionName[] = ["q_proj", "down_proj"];
  const tensors = randomPeftTensors(ARCH, { r: 4, targets, seed: 41, std: 0.2 });
  for (let l = 0; l < ARCH.num_hidden_layers; l++) {
    for (const proj of targets) {
      const W = baseWeight(l, proj); // [in, out]
      const out = tensors.get(peftKey(l, proj, "lora_B"))!.dims[0]!;
      const m = new Float32Array(out);
      for (let o = 0; o < out; o++) {
        let ss = 0;
        for (let i = o; i < W.length; i += out) ss += W[i]! ** 2;
        m[o] = Math.sqrt(ss) * (1 + 0.05 * Math.sin(o));
      }
      tensors.set(peftKey(l, proj, "lora_magnitude_vector"), { dims: [out], data: m });
    }
  }
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F32" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  return { config: new TextEncoder().encode(JSON.stringify(peftConfig({ r: 4, lora_alpha: 8, target_modules: targets, use_dora: true }))), weights };
}

/** What the runtime generates for these messages, feeds and seed (as the chat pipeline samples). */
async function direct(messages: Msg[], lora: LoraFeeds | undefined, o: { seed: number; maxTokens: number; temperature?: number }): Promise<{ text: string; tokens: number }> {
  const engine = await embeddedEngine();
  const { ids } = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  let text = "";
  let tokens = 0;
  const sampling = { temperature: o.temperature ?? 1, topK: 0, topP: 1, seed: o.seed };
  for await (const ev of engine.generate({ promptIds: ids, maxTokens: o.maxTokens, sampling, ...(lora ? { lora } : {}) })) {
    if (ev.type === "done") tokens = ev.completionTokens;
    else text += ev.text;
  }
  return { text, tokens };
}

async function completion(body: object, fetcher?: { fetch(r: Request): Promise<Response> }) {
  const res = await chat(body, fetcher);
  expect(res.status, await res.clone().text()).toBe(200);
  const json = (await res.json()) as any;
  return { res, text: json.choices[0].message.content as string, tokens: json.usage.completion_tokens as number, model: json.model as string };
}

const FILES = { helpdesk: peftFiles({ r: 8, seed: 31, targets: ["q_proj", "v_proj", "o_proj", "down_proj"] }), closer: peftFiles({ r: 4, seed: 32, targets: ["q_proj", "k_proj", "up_proj"] }) };

beforeAll(async () => {
  await embeddedEngine(); // the first engine in an isolate takes a while
  for (const [name, files] of Object.entries(FILES)) expect((await push(name, files)).status).toBe(201);
  expect((await call("PUT", "/v1/domains/support", { adapter: "helpdesk" })).status).toBe(200);
  expect((await call("PUT", "/v1/domains/sales", { adapter: "closer" })).status).toBe(200);
});

describe("chat with a registered adapter", () => {
  it("register → map → chat: the tokens equal a direct runtime call with that adapter and seed, and differ from the base", async () => {
    const want = await direct(SUPPORT_Q, (await prepared(FILES.helpdesk)).feeds, { seed: 5, maxTokens: 12 });
    const base = await direct(SUPPORT_Q, undefined, { seed: 5, maxTokens: 12 });
    const got = await completion({ model: "helpdesk", messages: SUPPORT_Q, max_tokens: 12, seed: 5 });
    expect({ text: got.text, tokens: got.tokens }).toEqual(want);
    expect(got.text).not.toBe(base.text);
    expect(got.model).toBe("helpdesk@1");
    expect(got.res.headers.get("x-lora-adapter")).toBe("helpdesk@1");
    expect(got.res.headers.get("x-lora-route-reason")).toBe("explicit");
    expect(got.res.headers.get("server-timing")).toMatch(/route;dur=[\d.]+, adapter-load;dur=[\d.]+, queue;dur=[\d.]+, prefill;dur=[\d.]+, decode;dur=[\d.]+/);
    const pinned = await completion({ model: "helpdesk@1", messages: SUPPORT_Q, max_tokens: 12, seed: 5 });
    expect(pinned.text).toBe(want.text);
    const baseChat = await completion({ model: "base", messages: SUPPORT_Q, max_tokens: 12, seed: 5 });
    expect(baseChat.text).toBe(base.text);
    expect(baseChat.res.headers.get("x-lora-adapter")).toBe("none");
  });

  it('model "auto" routes a support question to the support domain\'s adapter; /v1/route says the same', async () => {
    const got = await completion({ model: "auto", messages: SUPPORT_Q, max_tokens: 10, seed: 8 });
    expect(got.res.headers.get("x-lora-domain")).toBe("support");
    expect(got.res.headers.get("x-lora-adapter")).toBe("helpdesk@1");
    expect(got.res.headers.get("x-lora-route-reason")).toBe("classifier");
    const confidence = Number(got.res.headers.get("x-router-confidence"));
    expect(confidence).toBeGreaterThan(0.5);
    expect(got.text).toBe((await direct(SUPPORT_Q, (await prepared(FILES.helpdesk)).feeds, { seed: 8, maxTokens: 10 })).text);

    const route = (await (await worker.fetch(new Request("http://lora-edge/v1/route", { method: "POST", body: JSON.stringify({ messages: SUPPORT_Q }) }))).json()) as any;
    expect(route).toMatchObject({ domain: "support", reason: "classifier", adapter: "helpdesk@1" });
    expect(route.confidence.toFixed(4)).toBe(got.res.headers.get("x-router-confidence"));
    const off = await completion({ model: "auto", messages: [{ role: "user", content: "what's a good recipe for banana bread?" }], max_tokens: 4, seed: 1 });
    expect(off.res.headers.get("x-lora-adapter")).toBe("none");
    expect(off.res.headers.get("x-lora-route-reason")).toBe("fallback");
  });

  it("a domain's threshold above the router's confidence sends the request to the base model", async () => {
    expect((await call("PUT", "/v1/domains/support", { adapter: "helpdesk", threshold: 1 })).status).toBe(200);
    const got = await completion({ model: "auto", messages: SUPPORT_Q, max_tokens: 6, seed: 3 });
    expect([got.res.headers.get("x-lora-adapter"), got.res.headers.get("x-lora-route-reason")]).toEqual(["none", "fallback"]);
    expect(got.text).toBe((await direct(SUPPORT_Q, undefined, { seed: 3, maxTokens: 6 })).text);
    expect((await call("PUT", "/v1/domains/support", { adapter: "helpdesk", threshold: null })).status).toBe(200);
  });

  it("POST /v1/route: explicit models bypass the classifier; bad bodies are 400", async () => {
    const route = (body: unknown) => worker.fetch(new Request("http://lora-edge/v1/route", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) }));
    expect(await (await route({ text: "refund please", model: "closer@1" })).json()).toMatchObject({ reason: "explicit", adapter: "closer@1", confidence: 1 });
    expect(await (await route({ text: "refund please", model: "base" })).json()).toMatchObject({ reason: "explicit", adapter: null });
    for (const [body, status, code] of [[{}, 400, "invalid_request"], [{ text: "a", messages: SUPPORT_Q }, 400, "invalid_request"], ["{", 400, "invalid_json"], [{ text: "a", model: "ghost" }, 404, "model_not_found"]] as const) {
      const res = await route(body);
      expect([res.status, (await errorOf(res)).code]).toEqual([status, code]);
    }
    for (const text of ["", "   ", "x".repeat(100_000), "¿Dónde está mi pedido? 我的包裹在哪里"]) expect((await route({ text })).status).toBe(200);
  });

  it("a DoRA adapter: the upload reads the base weights from the assets, and its chat equals a direct runtime call", async () => {
    const files = await doraFiles();
    const res = await push("dora-desk", files);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await res.json()).toMatchObject({ id: "dora-desk@1", dora: true });
    const feeds = (await prepared(files)).feeds;
    expect(feeds.dora).toBe(true);
    const want = await direct(SUPPORT_Q, feeds, { seed: 8, maxTokens: 10 });
    const got = await completion({ model: "dora-desk", messages: SUPPORT_Q, max_tokens: 10, seed: 8 });
    expect({ text: got.text, tokens: got.tokens }).toEqual(want);
    expect(got.text).not.toBe((await direct(SUPPORT_Q, undefined, { seed: 8, maxTokens: 10 })).text);
  });

  it("adapters: [{name, weight}] composes adapters exactly as composeAdapters does", async () => {
    const engine = await embeddedEngine();
    const feeds = composeAdapters(engine.manifest.architecture, [{ adapter: await prepared(FILES.helpdesk), weight: 0.7 }, { adapter: await prepared(FILES.closer), weight: 0.3 }]);
    const want = await direct(SUPPORT_Q, feeds, { seed: 2, maxTokens: 10 });
    const got = await completion({ model: "base", adapters: [{ name: "helpdesk", weight: 0.7 }, { name: "closer", weight: 0.3 }], messages: SUPPORT_Q, max_tokens: 10, seed: 2 });
    expect(got.text).toBe(want.text);
    expect(got.res.headers.get("x-lora-adapter")).toBe("helpdesk@1*0.7+closer@1*0.3");
  });

  it("a domain registered with examples at run time is routed afterwards (router relearns from D1)", async () => {
    const examples = legalExamplesJsonl.trim().split("\n").map((l) => (JSON.parse(l) as { text: string }).text);
    const tests = legalTestJsonl.trim().split("\n").map((l) => (JSON.parse(l) as { text: string }).text);
    const before = await storageSnapshot();
    const few = await call("PUT", "/v1/domains/legal", { adapter: "closer", examples: examples.slice(0, 5) });
    expect([few.status, (await errorOf(few)).code]).toEqual([400, "too_few_examples"]);
    expect(await storageSnapshot()).toEqual(before);

    const put = await call("PUT", "/v1/domains/legal", { adapter: "closer", examples });
    expect(put.status).toBe(200);
    expect(((await put.json()) as any).examples).toBe(examples.length);
    const routed = await Promise.all(tests.map(async (text) => ((await (await worker.fetch(new Request("http://lora-edge/v1/route", { method: "POST", body: JSON.stringify({ text }) }))).json()) as any).domain));
    expect(routed.filter((d) => d === "legal").length / tests.length).toBeGreaterThanOrEqual(0.8);
    const got = await completion({ model: "auto", messages: [{ role: "user", content: tests[0]! }], max_tokens: 2, seed: 1 });
    expect(got.res.headers.get("x-lora-domain")).toBe(routed[0]);
    expect((await call("DELETE", "/v1/domains/legal")).status).toBe(200);
  });

  it("GET /v1/models lists the base and every registered adapter with parent = the base", async () => {
    const list = (await (await worker.fetch(new Request("http://lora-edge/v1/models"))).json()) as any;
    expect(list.data.map((m: any) => [m.id, m.parent])).toEqual(expect.arrayContaining([["demo", null], ["helpdesk", "demo"], ["closer", "demo"]]));
  });

  it.each([
    ["unknown model", { model: "no-such-adapter", messages: SUPPORT_Q }, 404, "model_not_found"],
    ["unknown version", { model: "helpdesk@9", messages: SUPPORT_Q }, 404, "model_not_found"],
    ["unknown adapter in adapters", { model: "base", adapters: [{ name: "ghost", weight: 1 }], messages: SUPPORT_Q }, 404, "model_not_found"],
    ["n > 1", { model: "helpdesk", messages: SUPPORT_Q, n: 2 }, 400, "unsupported_parameter"],
    ["malformed JSON", "{not json", 400, "invalid_json"],
  ].map(([name, body, status, code]) => ({ name, body, status, code })))("$name → $status $code, storage unchanged", async ({ body, status, code }) => {
    const before = await storageSnapshot();
    const res = await worker.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }));
    expect([res.status, (await errorOf(res)).code]).toEqual([status, code]);
    expect(await storageSnapshot()).toEqual(before);
  });
});

describe(`the official openai client against the ${worker.kind} host`, () => {
  // over the network with the client's own fetch where the host has a URL (Node), else through the host's fetch
  const client = new OpenAI({ apiKey: "unused", maxRetries: 0, ...(worker.url ? { baseURL: `${worker.url}/v1` } : { baseURL: "http://lora-edge/v1", fetch: (url: RequestInfo | URL, init?: RequestInit) => worker.fetch(new Request(url, init)) }) });

  it("chat.completions.create without and with stream, and models.list", async () => {
    const made = await client.chat.completions.create({ model: "helpdesk", messages: SUPPORT_Q, max_tokens: 8, seed: 4 });
    expect(made.object).toBe("chat.completion");
    expect(made.model).toBe("helpdesk@1");
    const want = await direct(SUPPORT_Q, (await prepared(FILES.helpdesk)).feeds, { seed: 4, maxTokens: 8 });
    expect(made.choices[0]!.message.content).toBe(want.text);

    const stream = await client.chat.completions.create({ model: "helpdesk", messages: SUPPORT_Q, max_tokens: 8, seed: 4, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(want.text);

    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["demo", "helpdesk", "closer"]));
  });

  it("an unknown model is the client's NotFoundError with code model_not_found", async () => {
    await expect(client.chat.completions.create({ model: "nope", messages: SUPPORT_Q })).rejects.toMatchObject({ status: 404, code: "model_not_found" });
  });
});

describe("concurrency", () => {
  it("8 concurrent chats with different adapters each equal their sequential run", async () => {
    const names = Array.from({ length: 8 }, (_, i) => `para${i}`);
    for (const [i, name] of names.entries()) expect((await push(name, peftFiles({ r: 4, seed: 500 + i }))).status).toBe(201);
    const body = (i: number) => ({ model: names[i], messages: SUPPORT_Q, max_tokens: 6, seed: 10 + i, temperature: 0.8 });
    const sequential = [];
    for (let i = 0; i < 8; i++) sequential.push((await completion(body(i))).text);
    const concurrent = await Promise.all(names.map((_, i) => completion(body(i)).then((r) => r.text)));
    expect(concurrent).toEqual(sequential);
    expect(new Set(sequential).size).toBeGreaterThan(1);
  });

  it("two streams with different adapters, read interleaved, each produce what they produce alone", async () => {
    const body = (model: string) => ({ model, messages: SUPPORT_Q, max_tokens: 10, seed: 77, stream: true });
    const alone = async (model: string) => sseText(await (await chat(body(model))).text());
    const [a, b] = [await alone("helpdesk"), await alone("closer")];
    const readers = [(await chat(body("helpdesk"))).body!.getReader(), (await chat(body("closer"))).body!.getReader()];
    const raw = ["", ""];
    const done = [false, false];
    const dec = new TextDecoder();
    while (!done[0] || !done[1]) {
      for (const i of [0, 1]) {
        if (done[i]) continue;
        const r = await readers[i]!.read();
        if (r.done) done[i] = true;
        else raw[i] += dec.decode(r.value, { stream: true });
      }
    }
    expect([sseText(raw[0]!), sseText(raw[1]!)]).toEqual([a, b]);
    expect(a).not.toBe(b);
  });
});

describe("memory of requests in flight", () => {
  const body = { model: "helpdesk", messages: SUPPORT_Q, max_tokens: 40, seed: 5, stream: true };
  const inFlight = async () => (await embeddedEngine()).memory().sequenceBytes;

  it("a stream read to its end frees its KV cache and adapter feeds; /healthz reports what is in flight", async () => {
    const health = async () => ((await (await worker.fetch(new Request("http://lora-edge/healthz"))).json()) as { memory: { resident_bytes: number; in_flight_sequence_bytes: number } }).memory;
    expect(await health()).toMatchObject({ in_flight_sequence_bytes: 0, resident_bytes: expect.any(Number) });
    await (await chat(body)).text();
    expect((await health()).in_flight_sequence_bytes).toBe(0);
  });

  it("a stream the client cancels mid-way frees them and its adapter lease", async () => {
    // the Worker: in this isolate, so cancelling the reader reaches its stream directly; the Node
    // host: over a real socket, so cancelling is a client that disconnects
    const hot = new AdapterCache({ maxBytes: 64 << 20 });
    const app = await worker.withDeps({ cache: hot });
    await (await chat(body, app)).text();
    expect(hot.stats().pinned).toBe(0); // a stream read to its end releases its lease too
    const reader = (await chat(body, app)).body!.getReader();
    expect((await reader.read()).done).toBe(false); // the role chunk
    expect((await reader.read()).done).toBe(false); // the first tokens: generation is under way
    expect(await inFlight()).toBeGreaterThan(0); // the cache and feeds are resident while it runs
    expect(hot.stats().pinned).toBe(1);
    await reader.cancel();
    await expect.poll(inFlight, { timeout: 5000 }).toBe(0);
    expect(hot.stats().pinned).toBe(0);
  });
});

describe("storage faults", () => {
  it.each(["fail", "slow"] as const)("a blob read that is %s for one adapter → 503 with Retry-After for that request only", async (fault) => {
    const victim = (await (await call("GET", "/v1/adapters/closer@1")).json()) as any;
    const fetcher = await worker.withDeps({ limits: { ADAPTER_LOAD_TIMEOUT_MS: 300 }, fault: { hit: (k) => k.includes(victim.prepared.sha256), fault }, cache: new AdapterCache({ maxBytes: 64 << 20 }) });
    const results = await Promise.all([
      chat({ model: "closer", messages: SUPPORT_Q, max_tokens: 4, seed: 1 }, fetcher),
      chat({ model: "base", messages: SUPPORT_Q, max_tokens: 4, seed: 1 }, fetcher),
      chat({ model: "helpdesk", messages: SUPPORT_Q, max_tokens: 4, seed: 1 }, fetcher),
    ]);
    expect(results.map((r) => r.status)).toEqual([503, 200, 200]);
    expect(results[0]!.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await errorOf(results[0]!)).toMatchObject({ code: "storage_unavailable", type: "service_unavailable" });
    // and the next base request still succeeds
    expect((await chat({ model: "base", messages: SUPPORT_Q, max_tokens: 2, seed: 1 }, fetcher)).status).toBe(200);
  });

  it("a hot-tier miss is served from the warm tier (compact stored form) without reading storage, with the same output", async () => {
    const victim = (await (await call("GET", "/v1/adapters/closer@1")).json()) as any;
    let broken = false;
    // a hot tier of 0 bytes keeps nothing once a generation releases it
    const hot = new AdapterCache({ maxBytes: 0 });
    const stored = new AdapterCache<StoredAdapter>({ maxBytes: 64 << 20 });
    const fetcher = await worker.withDeps({ fault: { hit: (k) => broken && k.includes(victim.prepared.sha256), fault: "fail" }, cache: hot, stored });
    const body = { model: "closer", messages: SUPPORT_Q, max_tokens: 6, seed: 9 };
    const first = await completion(body, fetcher);
    broken = true; // storage now fails for this adapter
    const second = await completion(body, fetcher);
    expect(second.text).toBe(first.text);
    expect(first.text).toBe((await direct(SUPPORT_Q, (await prepared(FILES.closer)).feeds, { seed: 9, maxTokens: 6 })).text);
    expect(hot.stats()).toMatchObject({ loads: 2, entries: 0 });
    expect(stored.stats()).toMatchObject({ loads: 1, hits: 1, entries: 1 });
    // 16-bit uploads stay 16-bit in the stored form: about a third of the prepared feeds' bytes
    expect(stored.stats().bytes).toBeLessThan(0.5 * (await prepared(FILES.closer)).bytes);
  });
});
}

/** The content of an SSE chat stream. */
function sseText(raw: string): string {
  return raw
    .split("\n\n")
    .filter((e) => e.startsWith("data: {"))
    .map((e) => (JSON.parse(e.slice(6)) as any).choices[0]?.delta?.content ?? "")
    .join("");
}
