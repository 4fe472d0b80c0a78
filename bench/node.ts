/**
 * `npm run bench:node [-- --model models/smollm2-135m] [-- --only engine,kv,parity,golden,http] [-- --json]`: the Node host side by side
 * with the WASM engine, in one process, interleaved:
 *
 * - engine: prefill (64-token prompt) and decode tokens/s of onnxruntime-node on 1 and 2 threads
 *   and of onnxruntime-web's WASM build (1 thread, the Worker's), and the decode cost of an r=16
 *   adapter on all seven projections on native 1 thread;
 * - kv: whether per-step copies of the KV cache matter natively: a decode step whose `present`
 *   outputs onnxruntime-node copies out to JS (the engine's path) against one that has ORT write
 *   them into preallocated JS buffers reused step to step, at a short and a long context;
 * - parity: the same package and an r=16 adapter on both backends: relative L2 of the prompt's
 *   logits, and whether 16 greedy tokens agree;
 * - golden (SmolLM2 only): both backends against transformers' fp32 logits for the fixture's chat
 *   prompts (test/fixtures/smollm2), for the served package and an fp32 one built from the cached GGUF;
 * - http: end-to-end chat through the real Node server (streaming): time to first token and decode
 *   tokens/s for the base, a cached adapter and a cold one (first use: blob read, deserialize,
 *   compose), medians.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as ortNode from "onnxruntime-node";
import { createApp } from "../src/app.ts";
import { parseSafetensors, toFloat32 } from "../src/adapters/safetensors.ts";
import { readGgufCheckpoint } from "../src/builder/gguf-checkpoint.ts";
import { assembleModelPackage } from "../src/builder/package.ts";
import { SMOLLM2 } from "../src/builder/smollm2.ts";
import { Engine, type Sequence } from "../src/runtime/engine.ts";
import { cacheDims, io, type Architecture } from "../src/runtime/manifest.ts";
import { loadModelPackage, type ModelPackage } from "../src/runtime/model-package.ts";
import type { LoraFeeds } from "../src/runtime/lora-feeds.ts";
import { nodeBackend } from "../src/runtime/node-backend.ts";
import { wasmBackend } from "../src/runtime/wasm-backend.ts";
import { openNodeHost } from "../src/node/host.ts";
import { startServer } from "../src/node/server.ts";
import { peftConfig, randomPeftTensors, writeSafetensors, PROJECTIONS } from "../test/reference/hf-checkpoint.ts";
import type { HfConfig } from "../test/reference/llama64.ts";
import { randomFeeds } from "../test/support/feeds.ts";
import { relL2 } from "../test/reference/llama64.ts";
import { GREEDY } from "../src/runtime/sampling.ts";
import { multipart } from "../tools/cli.ts";
import { median } from "./stats.ts";

const log = (msg: string) => process.stderr.write(`bench:node: ${msg}\n`);
const PROMPT = 64;

async function loadPackage(dir: string): Promise<ModelPackage> {
  return loadModelPackage(async (p) => new Uint8Array(await readFile(join(dir, p))), { verify: false });
}

const promptOf = (arch: Architecture, n: number, off = 0) => Array.from({ length: n }, (_, i) => (i * 13 + off) % (arch.vocab_size - 10));

/** Prefill and decode of each engine, lanes interleaved step by step. */
async function benchEngines(pkg: ModelPackage, steps: number) {
  const arch = pkg.manifest.architecture;
  const lanes: Array<{ name: string; engine: Engine; lora?: LoraFeeds }> = [];
  const wasm = await Engine.create(pkg, { backend: await wasmBackend() });
  const n1 = await Engine.create(pkg, { backend: nodeBackend({ threads: 1 }) });
  const n2 = await Engine.create(pkg, { backend: nodeBackend({ threads: 2 }) });
  const adapter = randomFeeds(arch, 16);
  lanes.push({ name: "wasm_1t", engine: wasm }, { name: "node_1t", engine: n1 }, { name: "node_2t", engine: n2 }, { name: "node_1t_r16", engine: n1, lora: adapter });
  const prefill = lanes.map(() => [] as number[]);
  const decode = lanes.map(() => [] as number[]);
  for (let round = 0; round < 3; round++) {
    const seqs: Sequence[] = [];
    for (const [i, lane] of lanes.entries()) {
      const seq = lane.engine.sequence(lane.lora);
      const t = performance.now();
      await seq.step(promptOf(arch, PROMPT, round));
      prefill[i]!.push(performance.now() - t);
      seqs.push(seq);
    }
    for (let s = 0; s < steps; s++) {
      for (let j = 0; j < lanes.length; j++) {
        const k = (s + j) % lanes.length;
        const t = performance.now();
        await seqs[k]!.step([(s * 7 + 3) % 200]);
        if (s >= 2) decode[k]!.push(performance.now() - t);
      }
    }
    for (const seq of seqs) seq.release();
  }
  const rows = Object.fromEntries(
    lanes.map((l, i) => [l.name, { prefill_tokens_per_s: (PROMPT * 1000) / median(prefill[i]!), decode_ms: median(decode[i]!), decode_tokens_per_s: 1000 / median(decode[i]!) }]),
  );
  const r = (a: string, b: string, f: "decode_tokens_per_s" | "prefill_tokens_per_s") => rows[a]![f] / rows[b]![f];
  return {
    prompt_tokens: PROMPT,
    decode_steps: steps,
    rows,
    ratios: {
      node_1t_vs_wasm_decode: r("node_1t", "wasm_1t", "decode_tokens_per_s"),
      node_2t_vs_wasm_decode: r("node_2t", "wasm_1t", "decode_tokens_per_s"),
      node_1t_vs_wasm_prefill: r("node_1t", "wasm_1t", "prefill_tokens_per_s"),
      node_2t_vs_node_1t_decode: r("node_2t", "node_1t", "decode_tokens_per_s"),
      node_r16_overhead: rows.node_1t_r16!.decode_ms / rows.node_1t!.decode_ms - 1,
    },
  };
}

/** Native vs WASM on this package: logits of a 32-token prompt (base and r=16) and 16 greedy tokens. */
async function benchParity(pkg: ModelPackage) {
  const arch = pkg.manifest.architecture;
  const [wasm, native] = [await Engine.create(pkg, { backend: await wasmBackend() }), await Engine.create(pkg, { backend: nodeBackend({ threads: 2 }) })];
  const prompt = promptOf(arch, 32);
  const greedy = async (e: Engine, lora?: LoraFeeds) => {
    const ids: number[] = [];
    for await (const ev of e.generate({ promptIds: prompt, maxTokens: 16, sampling: GREEDY, stopTokenIds: [], ...(lora ? { lora } : {}) })) if (ev.type === "token") ids.push(ev.id);
    return ids;
  };
  const out: Record<string, { rel_l2: number; greedy_equal: boolean }> = {};
  for (const [name, lora] of [["base", undefined], ["r16", randomFeeds(arch, 16)]] as const) {
    const opts = { logitsToKeep: prompt.length, ...(lora ? { lora } : {}) };
    out[name] = { rel_l2: relL2((await native.forward(prompt, opts)).logits, (await wasm.forward(prompt, opts)).logits), greedy_equal: JSON.stringify(await greedy(native, lora)) === JSON.stringify(await greedy(wasm, lora)) };
  }
  return out;
}

/** Native and WASM against transformers' logits (test/fixtures/smollm2), served package and fp32 from the cached GGUF. */
async function benchGolden(pkg: ModelPackage) {
  const fixture = fileURLToPath(new URL("../test/fixtures/smollm2/", import.meta.url));
  const golden = JSON.parse(readFileSync(join(fixture, "golden.json"), "utf8")) as { prompts: { ids: number[] }[] };
  const last = toFloat32(parseSafetensors(new Uint8Array(readFileSync(join(fixture, "golden.safetensors")))).get("last_logits")!);
  const V = pkg.manifest.architecture.vocab_size;
  const compare = async (p: ModelPackage) => {
    const [wasm, native] = [await Engine.create(p, { backend: await wasmBackend() }), await Engine.create(p, { backend: nodeBackend({ threads: 2 }) })];
    const lora = randomFeeds(p.manifest.architecture, 16, 7);
    const rows = [];
    for (const [i, { ids }] of golden.prompts.entries()) {
      const ref = last.subarray(i * V, (i + 1) * V);
      const [w, n] = [(await wasm.forward(ids, { logitsToKeep: 1 })).logits, (await native.forward(ids, { logitsToKeep: 1 })).logits];
      const [wl, nl] = [(await wasm.forward(ids, { logitsToKeep: 1, lora })).logits, (await native.forward(ids, { logitsToKeep: 1, lora })).logits];
      rows.push({ prompt_tokens: ids.length, wasm_vs_transformers: relL2(w, ref), native_vs_transformers: relL2(n, ref), native_vs_wasm: relL2(n, w), native_vs_wasm_r16: relL2(nl, wl) });
    }
    return rows;
  };
  const out: Record<string, unknown> = { [pkg.manifest.quantization.weights]: await compare(pkg) };
  const gguf = fileURLToPath(new URL(`../models/.cache/${SMOLLM2.file}`, import.meta.url));
  if (existsSync(gguf)) {
    const ckpt = readGgufCheckpoint(new Uint8Array(readFileSync(gguf)));
    const { files } = assembleModelPackage({
      name: "smollm2-fp32", arch: { ...ckpt.arch, max_position_embeddings: 512 }, weights: ckpt.weights, format: "fp32",
      source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
      tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
    });
    out.fp32 = await compare(await loadModelPackage(async (p) => files[p]!, { verify: false }));
  }
  return out;
}

/** A decode step whose KV cache is copied out to JS each step, against one written into reused JS buffers. */
async function benchKvCopies(pkg: ModelPackage, contexts: number[], steps: number) {
  const a = pkg.manifest.architecture;
  const session = await ortNode.InferenceSession.create(pkg.graph, {
    externalData: [{ path: pkg.manifest.files.weights.path, data: pkg.weights }],
    graphOptimizationLevel: "all", intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", logSeverityLevel: 3,
  });
  const [H, D] = [a.num_key_value_heads, a.head_dim];
  const pairs = Array.from({ length: a.num_hidden_layers }, (_, l) => [[io.pastKey(l), io.presentKey(l)], [io.pastValue(l), io.presentValue(l)]] as const).flat();
  const lora: Record<string, ortNode.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.name.startsWith("lora.") || !m.isTensor) continue;
    lora[m.name] = new ortNode.Tensor("float32", new Float32Array(0), m.name.endsWith(".A") ? [m.shape[0] as number, 0] : [0, m.shape[1] as number]);
  }
  const lane = (reuse: boolean, capacity: number) => {
    const past: Record<string, ortNode.Tensor> = Object.fromEntries(pairs.map(([p]) => [p, new ortNode.Tensor("float32", new Float32Array(0), cacheDims(a, 0))]));
    const buffers = [0, 1].map(() => pairs.map(() => new ArrayBuffer(H * capacity * D * 4)));
    let length = 0;
    let flip = 0;
    return async (ids: number[]) => {
      const feeds = { ...past, ...lora, [io.inputIds]: new ortNode.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]), [io.logitsToKeep]: new ortNode.Tensor("int64", BigInt64Array.of(1n), [1]) };
      const n = length + ids.length;
      const fetches = reuse ? Object.fromEntries([[io.logits, null], ...pairs.map(([, present], i) => [present, new ortNode.Tensor("float32", new Float32Array(buffers[flip]![i]!, 0, H * n * D), cacheDims(a, n))])]) : undefined;
      const out = (fetches ? await session.run(feeds, fetches as never) : await session.run(feeds)) as Record<string, ortNode.Tensor>;
      flip ^= 1;
      for (const [p, present] of pairs) past[p] = out[present]!;
      length = n;
    };
  };
  const rows = [];
  for (const context of contexts) {
    const lanes = [lane(false, context + steps + 1), lane(true, context + steps + 1)];
    for (const l of lanes) await l(promptOf(a, context));
    const times: number[][] = [[], []];
    for (let s = 0; s < steps; s++) {
      for (let j = 0; j < 2; j++) {
        const k = (s + j) % 2;
        const t = performance.now();
        await lanes[k]!([(s * 7 + 3) % 200]);
        if (s >= 2) times[k]!.push(performance.now() - t);
      }
    }
    const [copied, reused] = times.map(median) as [number, number];
    rows.push({ context, kv_bytes: 2 * a.num_hidden_layers * H * context * D * 4, decode_ms_copied_out: copied, decode_ms_reused_buffers: reused, copy_share: 1 - reused / copied });
  }
  await session.release();
  return { rows };
}

/** The multipart body of an r-rank PEFT adapter on all seven projections (F16). */
function peftUpload(arch: HfConfig, r: number, seed: number) {
  const tensors = randomPeftTensors(arch, { r, targets: PROJECTIONS, seed, std: 0.02 });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F16" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  const config = new TextEncoder().encode(JSON.stringify(peftConfig({ r, lora_alpha: 2 * r, target_modules: [...PROJECTIONS] })));
  return multipart({ "adapter_config.json": config, "adapter_model.safetensors": weights });
}

/** Streamed chats through the real server: time to first token and decode tokens/s. */
export async function benchHttp(modelDir: string, runs: number, maxTokens: number) {
  const data = mkdtempSync(join(tmpdir(), "lora-edge-bench-node-"));
  const token = "bench-token";
  const host = await openNodeHost({ modelDir, dbPath: join(data, "registry.sqlite"), blobDir: join(data, "blobs"), backend: nodeBackend({ threads: 1 }), adminToken: token });
  const server = await startServer(createApp(host.deps()).fetch, { port: 0 });
  const arch = host.base.manifest.architecture as unknown as HfConfig;
  try {
    for (let i = 0; i <= runs; i++) {
      const { body, type } = peftUpload(arch, 16, 100 + i);
      const res = await fetch(`${server.url}/v1/adapters/a${i}`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": type }, body: body as BodyInit });
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
    }
    const chat = async (model: string) => {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "Where is my parcel? It was due on Monday." }], max_tokens: maxTokens, temperature: 0, stream: true }),
      });
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let first = 0;
      let last = 0;
      let chunks = 0;
      let text = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += dec.decode(r.value, { stream: true });
        const n = (text.match(/"delta":\{"content"/g) ?? []).length;
        if (n > chunks) {
          last = performance.now();
          if (!first) first = last;
          chunks = n;
        }
      }
      return { ttft: first - t0, tokensPerS: ((chunks - 1) * 1000) / (last - first) };
    };
    await chat("base"); // warm
    await chat("a0");
    const results: Record<string, { ttft: number; tokensPerS: number }[]> = { base: [], cached: [], cold: [] };
    for (let i = 1; i <= runs; i++) {
      results.base!.push(await chat("base"));
      results.cached!.push(await chat("a0"));
      results.cold!.push(await chat(`a${i}`));
    }
    const row = (k: string) => ({ ttft_ms: median(results[k]!.map((r) => r.ttft)), decode_tokens_per_s: median(results[k]!.map((r) => r.tokensPerS)) });
    const [base, cached, cold] = [row("base"), row("cached"), row("cold")];
    return { runs, completion_tokens: maxTokens, threads: 1, base, cached_adapter: cached, cold_adapter: cold, cached_ttft_ratio: cached.ttft_ms / base.ttft_ms, cold_ttft_ratio: cold.ttft_ms / base.ttft_ms, cached_decode_ratio: cached.decode_tokens_per_s / base.decode_tokens_per_s };
  } finally {
    await server.close(1_000);
    host.close();
  }
}

export async function benchNode(o: { model: string; steps?: number; runs?: number; parts?: ReadonlySet<string> }) {
  const want = (part: string) => !o.parts || o.parts.has(part);
  const pkg = await loadPackage(o.model);
  const loadBefore = loadavg()[0];
  const small = pkg.manifest.parameters < 50e6;
  const steps = o.steps ?? (small ? 48 : 16);
  const part = async <T>(name: string, what: string, run: () => Promise<T>) => (want(name) ? (log(`${name}: ${what} …`), await run()) : undefined);
  const engine = await part("engine", `${pkg.manifest.name} on wasm 1 thread, node 1 and 2 threads`, () => benchEngines(pkg, steps));
  const kv = await part("kv", "KV cache copied out per step vs written into reused buffers", () => benchKvCopies(pkg, [64, small ? 896 : 1024], small ? 24 : 10));
  const parity = await part("parity", "native vs WASM logits and greedy tokens", () => benchParity(pkg));
  const golden = pkg.manifest.name === "smollm2-135m" ? await part("golden", "native and WASM against transformers' logits", () => benchGolden(pkg)) : undefined;
  const http = await part("http", "streamed chats through the Node server", () => benchHttp(o.model, o.runs ?? (small ? 8 : 4), small ? 32 : 16));
  // the machine's 1-minute load average before and after: on a shared machine it says how much the figures are worth
  return { model: pkg.manifest.name, parameters: pkg.manifest.parameters, quantization: pkg.manifest.quantization.weights, load_average: [loadBefore, loadavg()[0]], engine, kv, parity, golden, http };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: "string", default: "models/demo" }, only: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("*/")[0]!.replace(/^\/\*\*\n/, "").replace(/^ \* ?/gm, "") + "\n");
    process.exit(0);
  }
  const result = await benchNode({ model: values.model!, ...(values.only ? { parts: new Set(values.only.split(",")) } : {}) });
  console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
}
