/**
 * `npm run bench [-- --json] [-- --only engine,heap,adapters,router,worker,node,peers,admission,parity] [-- --model <dir>]`: every performance figure the
 * issues name, side by side with its baseline, in one run. Machine and date are recorded with them.
 */
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { benchEngine } from "./engine.ts";
import { PRESETS } from "../src/builder/presets.ts";
import type { Architecture } from "../src/runtime/manifest.ts";

const { values } = parseArgs({ options: { json: { type: "boolean" }, only: { type: "string" }, preset: { type: "string", default: "demo" }, model: { type: "string", default: "models/demo" } } });
const only = values.only ? new Set(values.only.split(",")) : undefined;
const want = (part: string) => !only || only.has(part);
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const arch = { family: "llama", model_type: "llama", ...PRESETS[values.preset!]! } as Architecture;
const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
};
if (want("engine")) {
  log("engine: fp32 / int8 / int4, each in a fresh process …");
  result.engine = benchEngine(values.preset);
}
if (want("heap")) {
  log("heap: lora-edge's run path vs onnxruntime-web's session.run, short and long context …");
  const { benchHeap } = await import("./heap.ts");
  result.heap = await benchHeap(arch);
}
if (want("adapters")) {
  log("adapters: prepare, compose, hot switch, cache bytes …");
  const { benchAdapters } = await import("./adapters.ts");
  result.adapters = await benchAdapters(arch);
}
if (want("router")) {
  log("router: classification latency, artifact bytes …");
  const { benchRouter } = await import("./router.ts");
  result.router = await benchRouter();
}
if (want("worker")) {
  log("worker: end-to-end requests inside workerd (miniflare) …");
  const { benchWorker } = await import("./worker.ts");
  result.worker = await benchWorker();
}
if (want("node")) {
  log(`node: the Node host (onnxruntime-node 1 and 2 threads vs WASM, KV copies, chat over HTTP) on ${values.model} …`);
  const { benchNode } = await import("./node.ts");
  result.node = await benchNode({ model: values.model! });
}
if (want("peers")) {
  log(`peers: ${values.model} against transformers.js (WASM) and llama.cpp (node-llama-cpp), interleaved; chat over HTTP …`);
  const { benchPeers } = await import("./peers.ts");
  result.peers = await benchPeers({ model: values.model! });
}
if (want("admission")) {
  log("admission: 32 concurrent mixed requests, default budget vs unbounded, interleaved …");
  const { benchAdmission } = await import("./admission.ts");
  result.admission = await benchAdmission();
}
if (want("parity")) {
  log("parity: golden PEFT logits …");
  const { benchParity } = await import("./parity.ts");
  result.parity = await benchParity();
}
console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
