/**
 * Helpers for worker tests of the registry: PEFT adapters for the embedded model written in memory
 * (test/reference's PEFT writer), admin calls through the Worker, and a snapshot of everything the
 * registry stores (every R2 key and every D1 row) to prove a refused request changed nothing.
 */
import { env, exports } from "cloudflare:workers";
import { createApp } from "../../src/app.ts";
import type { Env } from "../../src/env.ts";
import { workerDeps } from "../../src/index.ts";
import manifest from "../../models/demo/manifest.json";
import { peftConfig, randomPeftTensors, writeSafetensors, type PeftLoraConfig, type SafetensorsDtype, type ProjectionName } from "../reference/hf-checkpoint.ts";
import type { HfConfig } from "../reference/llama64.ts";

export const ADMIN_TOKEN = "test-admin-token";
export const ARCH = manifest.architecture as unknown as HfConfig;
export const worker = (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default;
/**
 * The same app called in this isolate, for request bodies that are streams: through the loopback
 * binding, workerd pumps such a body over a pipe, and a refusal that does not read it all (the
 * point of those tests) breaks the pipe, logged as an uncaught "Network connection lost".
 */
const inProcess = createApp(workerDeps(env as unknown as Env));
export const bindings = env as unknown as { DB: D1Database; ADAPTERS: R2Bucket };

export type PeftFiles = { config: Uint8Array; weights: Uint8Array };

/** A seeded random PEFT adapter for the demo model. @example peftFiles({ r: 4, seed: 1 }) */
export function peftFiles(o: { r?: number; seed?: number; targets?: ProjectionName[]; dtype?: SafetensorsDtype; config?: Partial<PeftLoraConfig>; std?: number } = {}): PeftFiles {
  const r = o.r ?? 4;
  const targets = o.targets ?? ["q_proj", "v_proj", "o_proj"];
  const tensors = randomPeftTensors(ARCH, { r, targets, seed: o.seed ?? 1, std: o.std ?? 0.2 });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: o.dtype ?? "F16", dims: t.dims, data: Float32Array.from(t.data) }])));
  const config = new TextEncoder().encode(JSON.stringify(peftConfig({ r, lora_alpha: 2 * r, target_modules: targets, ...o.config })));
  return { config, weights };
}

/** The multipart body `PUT /v1/adapters/{name}` takes. */
export function uploadForm(files: { config: Uint8Array | string; weights: Uint8Array }): FormData {
  const form = new FormData();
  form.set("adapter_config.json", new File([files.config as BlobPart], "adapter_config.json", { type: "application/json" }));
  form.set("adapter_model.safetensors", new File([files.weights as BlobPart], "adapter_model.safetensors"));
  return form;
}

/** A request to the Worker with the admin token (or `token`, or none with `token: null`). */
export function call(method: string, path: string, body?: BodyInit | object, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let init: BodyInit | undefined;
  if (body instanceof FormData || body instanceof ReadableStream || typeof body === "string" || body instanceof Uint8Array) init = body as BodyInit;
  else if (body !== undefined) {
    init = JSON.stringify(body);
    headers.set("content-type", "application/json");
  }
  const request = new Request(`http://lora-edge${path}`, { method, headers, body: init ?? null, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
  return body instanceof ReadableStream ? Promise.resolve(inProcess.fetch(request)) : worker.fetch(request);
}

/** Upload an adapter; returns the response. */
export function push(name: string, files: PeftFiles, token?: string | null): Promise<Response> {
  return call("PUT", `/v1/adapters/${name}`, uploadForm(files), { token });
}

/** Every R2 key (with its etag) and every row of every registry table. */
export async function storageSnapshot(): Promise<{ r2: string[]; d1: Record<string, unknown[]> }> {
  const r2: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bindings.ADAPTERS.list(cursor ? { cursor } : {});
    r2.push(...page.objects.map((o) => `${o.key} ${o.etag} ${o.size}`));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const d1: Record<string, unknown[]> = {};
  for (const table of ["adapter_names", "adapters", "domains"]) d1[table] = (await bindings.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()).results;
  return { r2: r2.sort(), d1 };
}

/** Error body of a response, checked to be OpenAI's shape. */
export async function errorOf(res: Response): Promise<{ code: string; type: string; message: string; param: string | null }> {
  const body = (await res.json()) as { error: { code: string; type: string; message: string; param: string | null } };
  return body.error;
}
