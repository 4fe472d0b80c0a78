/**
 * `npm run bench:worker [-- --json] [-- --runs 10]`: end-to-end latency inside workerd of the built
 * Worker (`wrangler deploy --dry-run` bundle run by miniflare, with its real local R2 and D1):
 *
 * - chat with the base model, with a cached adapter, and with a cold adapter (first use: R2 read,
 *   deserialize, compose), each 16 tokens, medians, and each as a ratio to the base request;
 * - the registry's upload latency for an r=16 PEFT adapter (all seven projections, F16);
 * - the router inside workerd: per-message classification latency p50/p99 (each message classified
 *   `repeat` times in one request, the empty request's time subtracted: workerd's clocks do not
 *   advance during pure computation, so it can only be timed from outside), and `POST /v1/route`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { peftConfig, randomPeftTensors, writeSafetensors, PROJECTIONS } from "../test/reference/hf-checkpoint.ts";
import type { HfConfig } from "../test/reference/llama64.ts";
import { multipart } from "../tools/cli.ts";
import { startBundledWorker } from "../test/support/bundled-worker.ts";
import { median, quantile } from "./stats.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TOKEN = "bench-token";
const log = (msg: string) => process.stderr.write(`bench:worker: ${msg}\n`);

/** The multipart body of an r-rank PEFT adapter on all seven projections (F16). */
function peftUpload(arch: HfConfig, r: number, seed: number): { body: Uint8Array; type: string } {
  const tensors = randomPeftTensors(arch, { r, targets: PROJECTIONS, seed, std: 0.1 });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F16" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  const config = new TextEncoder().encode(JSON.stringify(peftConfig({ r, lora_alpha: 2 * r, target_modules: [...PROJECTIONS] })));
  return multipart({ "adapter_config.json": config, "adapter_model.safetensors": weights });
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/**
 * Run the Worker bench; figures in milliseconds unless named otherwise.
 *
 * @example const figures = await benchWorker(); // { base_request_ms: 480, cached_adapter_request_ms: 500, cached_adapter_ratio: 1.04, … }
 */
export async function benchWorker(options: { runs?: number; tokens?: number } = {}): Promise<Record<string, number>> {
  const runs = options.runs ?? 10;
  const tokens = options.tokens ?? 16;
  log("bundling the Worker (wrangler deploy --dry-run) …");
  const worker = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN } });
  const { mf } = worker;
  const arch = JSON.parse(readFileSync(join(ROOT, "models/demo/manifest.json"), "utf8")).architecture as HfConfig;
  try {
    const timed = async (path: string, init: RequestInit): Promise<{ ms: number; res: Response; body: unknown }> => {
      const t0 = performance.now();
      const res = await mf.dispatchFetch(`http://bench${path}`, init as never);
      const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
      const ms = performance.now() - t0;
      if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      return { ms, res: res as unknown as Response, body };
    };
    const chat = (model: string, seed: number) =>
      timed("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content: "My parcel never arrived, what can I do?" }], max_tokens: tokens, seed }) });
    const upload = (name: string, seed: number) => {
      const { body, type } = peftUpload(arch, 16, seed);
      return timed(`/v1/adapters/${name}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": type }, body: body as never });
    };

    log("warming up (engine creation) …");
    await chat("base", 0);
    await chat("base", 0);

    log(`uploading ${runs + 2} r=16 adapters …`);
    const uploadMs: number[] = [];
    for (let i = 0; i < runs + 2; i++) uploadMs.push((await upload(`bench${i}`, 1000 + i)).ms);

    log("base, cached adapter and cold adapter requests …");
    const base: number[] = [];
    const cached: number[] = [];
    const cold: number[] = [];
    const coldLoad: number[] = [];
    await chat("bench0", 0); // bench0 resident from here on
    for (let i = 0; i < runs; i++) {
      base.push((await chat("base", i)).ms);
      cached.push((await chat("bench0", i)).ms);
      const c = await chat(`bench${i + 2}`, i); // never used before: R2 read + deserialize
      cold.push(c.ms);
      coldLoad.push(Number(/adapter-load;dur=([\d.]+)/.exec(c.res.headers.get("server-timing") ?? "")?.[1] ?? NaN));
    }

    log("router: /v1/route and per-message classification inside workerd …");
    const texts = readFileSync(join(ROOT, "data/router/test.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { text: string }).text);
    const routeMs: number[] = [];
    for (const text of texts.slice(0, 100)) routeMs.push((await timed("/v1/route", { method: "POST", body: JSON.stringify({ text }) })).ms);
    const classify = await routerInWorkerd(texts.slice(0, 100));

    const b = median(base);
    return {
      runs,
      completion_tokens: tokens,
      base_request_ms: round(b, 1),
      cached_adapter_request_ms: round(median(cached), 1),
      cached_adapter_ratio: round(median(cached) / b),
      cold_adapter_request_ms: round(median(cold), 1),
      cold_adapter_ratio: round(median(cold) / b),
      cold_adapter_load_ms: round(median(coldLoad), 1),
      upload_r16_ms: round(median(uploadMs), 1),
      upload_r16_ratio: round(median(uploadMs) / b),
      route_request_p50_ms: round(quantile(routeMs, 0.5)),
      route_request_p99_ms: round(quantile(routeMs, 0.99)),
      router_classify_workerd_p50_ms: round(classify.p50, 4),
      router_classify_workerd_p99_ms: round(classify.p99, 4),
      router_share_of_base_request: round(classify.p50 / b, 6),
    };
  } finally {
    await worker.dispose();
  }
}

/**
 * Per-message router latency inside workerd: each text classified `repeat` times per request, minus
 * an empty request. With `baselineArtifact` (a path) that router runs in the same isolate, each
 * text alternating between the two, and its p50 comes back too.
 */
export async function routerInWorkerd(texts: string[], repeat = 200, baselineArtifact?: string): Promise<{ p50: number; p99: number; baselineP50?: number }> {
  const harness = await build({
    stdin: {
      contents: `
        import artifact from "./models/router/router.json";
        import baselineArtifact from ${JSON.stringify(baselineArtifact ?? "./models/router/router.json")};
        import { loadRouter } from "./src/router/artifact.ts";
        import { routeText } from "./src/router/decision.ts";
        const routers = { router: loadRouter(artifact), baseline: loadRouter(baselineArtifact) };
        export default {
          async fetch(request) {
            const { text, repeat, which } = await request.json();
            const router = routers[which];
            let domains = 0;
            for (let i = 0; i < repeat; i++) domains += routeText(router, text).domain ? 1 : 0;
            return Response.json({ domains });
          },
        };`,
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
  });
  const mf = new Miniflare({ modules: [{ type: "ESModule", path: "harness.js", contents: harness.outputFiles[0]!.text }], compatibilityDate: "2026-04-26" });
  try {
    const run = async (text: string, n: number, which = "router") => {
      const t0 = performance.now();
      await (await mf.dispatchFetch("http://router", { method: "POST", body: JSON.stringify({ text, repeat: n, which }) })).json();
      return performance.now() - t0;
    };
    for (const t of texts.slice(0, 10)) await run(t, repeat); // JIT warm-up
    if (baselineArtifact) for (const t of texts.slice(0, 10)) await run(t, repeat, "baseline");
    const empty: number[] = [];
    for (let i = 0; i < 30; i++) empty.push(await run("", 0));
    const overhead = median(empty);
    const per: number[] = [];
    const baselinePer: number[] = [];
    for (const [i, t] of texts.entries()) {
      // alternate which router goes first, so neither always runs on a warmer machine
      const order = baselineArtifact ? (i % 2 === 0 ? ["router", "baseline"] : ["baseline", "router"]) : ["router"];
      for (const which of order) (which === "router" ? per : baselinePer).push(Math.max(0, (await run(t, repeat, which)) - overhead) / repeat);
    }
    return { p50: quantile(per, 0.5), p99: quantile(per, 0.99), ...(baselineArtifact ? { baselineP50: quantile(baselinePer, 0.5) } : {}) };
  } finally {
    await mf.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { json: { type: "boolean" }, runs: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log("Usage: npm run bench:worker [-- --json] [-- --runs N]\n\nEnd-to-end Worker latency inside workerd (miniflare): base, cached and cold adapter chats,\nr=16 upload, router classification. Prints JSON (compact with --json).");
  } else {
    const figures = await benchWorker(values.runs ? { runs: Number(values.runs) } : {});
    console.log(values.json ? JSON.stringify(figures) : JSON.stringify(figures, null, 2));
  }
}
