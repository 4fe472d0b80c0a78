/**
 * The page the engine tests and the browser bench drive (served by support/harness-page.ts): it
 * loads a model package from a URL and runs it on the browser backends. `runSequences` returns a
 * prefill's logits and then each decode step's (KV cache kept by the backend) for comparison with
 * the WASM engine in Node, with what each run moved between JS and the backend; `timeGeneration`
 * times greedy generation on several backends in this one page, interleaved round by round.
 * LoRA feeds are the seeded random ones the Node side builds too.
 */
import type { EngineBackend } from "../../src/runtime/backend.ts";
import { Engine } from "../../src/runtime/engine.ts";
import { browserBackend } from "../../src/runtime/browser-backend.ts";
import { loadModelPackage, type ModelPackage } from "../../src/runtime/model-package.ts";
import { GREEDY } from "../../src/runtime/sampling.ts";
import { fetchOrtBinary } from "../../public/ort-binaries.ts";
import { randomFeeds } from "../support/feeds.ts";

export type SequenceCase = { prompt: number[]; decode: number[]; loraRank: number; loraSeed: number };
/** What crossed between JS and the backend in one run: bytes of JS tensors fed, bytes copied back, outputs kept. */
export type RunTraffic = { hostInputBytes: number; outputBytes: number; kept: number };
export type SequenceResult = { backend: string; steps: number[][][]; traffic: RunTraffic[] };
export type Timing = { backend: string; round: number; promptTokens: number; completionTokens: number; prefillMs: number; decodeMs: number };

export type Harness = {
  runSequences(pkgUrl: string, prefer: "webgpu" | "wasm", cases: SequenceCase[]): Promise<SequenceResult>;
  timeGeneration(pkgUrl: string, backends: Array<"webgpu" | "wasm">, opts: { rounds: number; promptTokens: number; maxTokens: number; loraRank: number }): Promise<Timing[]>;
};

async function fetchPackage(pkgUrl: string): Promise<ModelPackage> {
  return loadModelPackage(async (path) => {
    const res = await fetch(`${pkgUrl}${path}`);
    if (!res.ok) throw new Error(`GET ${pkgUrl}${path}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  });
}

function backendFor(prefer: "webgpu" | "wasm"): Promise<EngineBackend> {
  return browserBackend({ webgpu: () => fetchOrtBinary("ort-wasm-simd-threaded.asyncify.wasm"), wasm: () => fetchOrtBinary("ort-wasm-simd-threaded.wasm") }, { prefer });
}

const harness: Harness = {
  async runSequences(pkgUrl, prefer, cases) {
    const pkg = await fetchPackage(pkgUrl);
    const traffic: RunTraffic[] = [];
    const engine = await Engine.create(pkg, { backend: watched(await backendFor(prefer), traffic) });
    const steps: number[][][] = [];
    for (const c of cases) {
      const seq = engine.sequence(c.loraRank ? randomFeeds(pkg.manifest.architecture, c.loraRank, c.loraSeed) : undefined);
      try {
        const logits = [Array.from(await seq.step(c.prompt, c.prompt.length))]; // every prompt position
        for (const id of c.decode) logits.push(Array.from(await seq.step([id])));
        steps.push(logits);
      } finally {
        seq.release();
      }
    }
    return { backend: engine.backend.name, steps, traffic };
  },

  async timeGeneration(pkgUrl, backends, opts) {
    const pkg = await fetchPackage(pkgUrl);
    const engines = [];
    for (const b of backends) engines.push(await Engine.create(pkg, { backend: await backendFor(b) }));
    const lora = opts.loraRank ? randomFeeds(pkg.manifest.architecture, opts.loraRank, 5) : undefined;
    const promptIds = Array.from({ length: opts.promptTokens }, (_, i) => (7 * i + 1) % pkg.manifest.architecture.vocab_size);
    const timings: Timing[] = [];
    // round 0 warms each backend up (shader compilation on WebGPU); the caller drops it
    for (let round = 0; round <= opts.rounds; round++) {
      for (const engine of engines) {
        for await (const ev of engine.generate({ promptIds, maxTokens: opts.maxTokens, sampling: GREEDY, stopTokenIds: [], ...(lora ? { lora } : {}) })) {
          if (ev.type === "done") timings.push({ backend: engine.backend.name, round, promptTokens: ev.promptTokens, completionTokens: ev.completionTokens, prefillMs: ev.prefillMs, decodeMs: ev.decodeMs });
        }
      }
    }
    return timings;
  },
};

/** The backend, with every run's traffic recorded (a JS tensor has `data`; a resident one does not). */
function watched(backend: EngineBackend, traffic: RunTraffic[]): EngineBackend {
  return {
    name: backend.name,
    upload: (t) => backend.upload(t),
    memory: () => backend.memory(),
    async createSession(graph, weights) {
      const session = await backend.createSession(graph, weights);
      return {
        inputNames: session.inputNames,
        async run(feeds, keep) {
          const result = await session.run(feeds, keep);
          const bytes = (ts: object[]) => ts.reduce((n, t) => n + ("data" in t ? (t.data as ArrayBufferView).byteLength : 0), 0);
          traffic.push({ hostInputBytes: bytes(Object.values(feeds)), outputBytes: bytes(Object.values(result.outputs)), kept: Object.keys(result.kept).length });
          return result;
        },
      };
    },
  };
}

(globalThis as unknown as { harness: Harness }).harness = harness;
