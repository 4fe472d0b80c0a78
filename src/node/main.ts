/**
 * `npm start`: lora-edge's API served from Node (the same `createApp` as the Worker) on
 * onnxruntime-node, with the registry in SQLite and a blob directory. `npm start -- --help`.
 */
import { availableParallelism } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createApp } from "../app.ts";
import { defaultThreads, nodeBackend } from "../runtime/node-backend.ts";
import { openNodeHost } from "./host.ts";
import { DEFAULT_BROWSER_MODEL, DEFAULT_MODEL, ensureDefaultPackages } from "./default-model.ts";
import { seedServedModel } from "./seed-adapters.ts";
import { startServer } from "./server.ts";
import { prepareSite, withSite } from "./site.ts";

/** The checkout (or the container's /app) this runs from. */
const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** The playground, as `npm run build:site` writes it. */
const SITE_DIR = join(REPO, "site");

const HELP = `Usage: npm start -- [options]

Serves lora-edge's API (chat, adapters, domains, routing) from Node on onnxruntime-node.

Options (environment variable in brackets):
  --model <dir>      model package to serve [LORA_EDGE_MODEL] (default ${DEFAULT_MODEL},
                     built or, when stale, rebuilt by \`npm run model:smollm2\` at start; models/demo needs no download)
  --browser-model <dir>  the package browsers download for "answer in this browser" (/v1/model-package)
                     [LORA_EDGE_BROWSER_MODEL]: the same base in another format (default: with the
                     default model ${DEFAULT_BROWSER_MODEL}, its 4-bit build; otherwise --model itself)
  --port <n>         port [PORT] (default 8787; 0 picks a free one)
  --host <addr>      address to listen on [HOST] (default 127.0.0.1; 0.0.0.0 in a container)
  --threads <n>      onnxruntime threads per step [LORA_EDGE_THREADS] (default ${defaultThreads()} here: cores, at most 4)
  --data <dir>       registry folder [LORA_EDGE_DATA] (default .lora-edge): <dir>/registry.sqlite, <dir>/blobs
  --db <file>        registry database [LORA_EDGE_DB] (default <data>/registry.sqlite)
  --blobs <dir>      adapter blob directory [LORA_EDGE_BLOBS] (default <data>/blobs; may be shared storage)
  --no-seed          do not seed an empty registry with the model's domain adapters [SEED_DEMO_ADAPTERS=false]
  --batching         batch concurrent requests' decode steps into one pass [LORA_EDGE_BATCHING=true]
  --no-batching      one request's step at a time [LORA_EDGE_BATCHING=false]; default: batched where
                     that changes no text (a model.batch.onnx and float32 activations: fp32, int4 like
                     the default model), one at a time for int8 (README "Batching")
  --grace <ms>       on SIGTERM, how long requests in flight may run on [LORA_EDGE_GRACE_MS] (default 30000)
  -h, --help         this text

The admin API's token is ADMIN_TOKEN (unset: the admin API refuses every call). Limits use the
Worker's variable names (MAX_TOKENS_LIMIT, ADAPTER_CACHE_BYTES, …) from the environment.`;

function fail(message: string): never {
  process.stderr.write(`lora-edge: ${message}\n`);
  process.exit(1);
}

function parse() {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      model: { type: "string" }, "browser-model": { type: "string" }, port: { type: "string" }, host: { type: "string" }, threads: { type: "string" },
      data: { type: "string" }, db: { type: "string" }, blobs: { type: "string" }, "no-seed": { type: "boolean" },
      grace: { type: "string" }, batching: { type: "boolean" }, "no-batching": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, fallback: number, min: number) => {
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min}, not "${v}"`);
    return n;
  };
  const data = values.data ?? env.LORA_EDGE_DATA ?? ".lora-edge";
  const model = values.model ?? env.LORA_EDGE_MODEL ?? DEFAULT_MODEL;
  const threads = int("threads", values.threads ?? env.LORA_EDGE_THREADS, defaultThreads(), 1);
  if (threads > availableParallelism()) process.stderr.write(`lora-edge: ${threads} threads on ${availableParallelism()} cores will contend\n`);
  return {
    model,
    browserModel: values["browser-model"] ?? env.LORA_EDGE_BROWSER_MODEL ?? (resolve(model) === resolve(DEFAULT_MODEL) ? DEFAULT_BROWSER_MODEL : undefined),
    port: int("port", values.port ?? env.PORT, 8787, 0),
    host: values.host ?? env.HOST ?? "127.0.0.1",
    threads,
    dbPath: values.db ?? env.LORA_EDGE_DB ?? join(data, "registry.sqlite"),
    blobDir: values.blobs ?? env.LORA_EDGE_BLOBS ?? join(data, "blobs"),
    seed: !values["no-seed"] && env.SEED_DEMO_ADAPTERS !== "false",
    graceMs: int("grace", values.grace ?? env.LORA_EDGE_GRACE_MS, 30_000, 0),
    batching: values.batching ? true : values["no-batching"] ? false : env.LORA_EDGE_BATCHING ? env.LORA_EDGE_BATCHING === "true" : undefined,
  };
}

const config = parse();
const packages = ensureDefaultPackages([config.model, config.browserModel], REPO);
if (!packages.ok) fail(packages.reason);
const host = await openNodeHost({
  modelDir: config.model,
  ...(config.browserModel ? { browserModelDir: config.browserModel } : {}),
  dbPath: config.dbPath,
  blobDir: config.blobDir,
  backend: nodeBackend({ threads: config.threads }),
  ...(config.batching !== undefined ? { batching: config.batching } : {}),
  adminToken: process.env.ADMIN_TOKEN || undefined,
}).catch((err: Error) => fail(`cannot serve ${config.model}: ${err.message}`));
const name = host.base.manifest.name;
const seeded = config.seed ? await seedServedModel(host) : undefined;
if (seeded && "domains" in seeded) process.stderr.write(`lora-edge: seeded domains ${seeded.domains.join(", ")} from ${seeded.dir}\n`);
if (seeded && "stale" in seeded) {
  process.stderr.write(`lora-edge: the registry (${config.dbPath}) serves ${seeded.stale.map((s) => `${s.adapter} (${s.domain})`).join(", ")} seeded from older files than ${seeded.dir} holds now; start with an empty --data folder to seed the new ones, or push them and map their domains (lora-edge push/map)\n`);
}
const site = await prepareSite(SITE_DIR);
if (!site.ok) process.stderr.write(`lora-edge: the playground is not served: ${site.reason}\n`);
const app = createApp(host.deps()).fetch;
const server = await startServer(site.ok ? withSite(SITE_DIR, app) : app, { port: config.port, hostname: config.host }).catch((err: Error) => fail(`cannot listen on ${config.host}:${config.port}: ${err.message}`));
process.stderr.write(
  `lora-edge: serving ${name} (${basename(resolve(config.model))}, ${host.base.manifest.quantization.weights}) on onnxruntime-node with ${config.threads} thread${config.threads > 1 ? "s" : ""}${host.engine.batcher ? ", concurrent requests batched" : ""} at ${server.url}` +
    `${process.env.ADMIN_TOKEN ? "" : " (admin API closed: no ADMIN_TOKEN)"}\n`,
);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`lora-edge: ${signal}: finishing requests in flight (up to ${config.graceMs} ms)\n`);
    void server.close(config.graceMs).then(() => {
      host.close();
      process.exit(0);
    });
  });
}
