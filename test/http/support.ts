/**
 * What the HTTP suites (test/http/*.suite.ts) need from a host, and helpers over it: PEFT adapters
 * for the demo model written in memory (test/reference's PEFT writer), admin calls, error bodies.
 * Each host implements `TestHost`: the Worker inside workerd (test/worker/host.ts) and the Node
 * host as a real server on an ephemeral port (test/node/host.ts).
 */
import manifest from "../../models/demo/manifest.json";
import type { AdapterCache } from "../../src/adapters/cache.ts";
import type { Admission } from "../../src/pipeline/admission.ts";
import type { Limits } from "../../src/pipeline/limits.ts";
import type { StoredAdapter } from "../../src/pipeline/select.ts";
import type { Engine } from "../../src/runtime/engine.ts";
import { peftConfig, randomPeftTensors, writeSafetensors, type PeftLoraConfig, type SafetensorsDtype, type ProjectionName } from "../reference/hf-checkpoint.ts";
import type { HfConfig } from "../reference/llama64.ts";

export const ADMIN_TOKEN = "test-admin-token";
export const ARCH = manifest.architecture as unknown as HfConfig;

export type Fetcher = { fetch(r: Request): Promise<Response> };

/** Every blob key (with what identifies its content) and every row of every registry table. */
export type StorageSnapshot = { blobs: string[]; rows: Record<string, unknown[]> };

/** Reads of blobs whose key matches `hit` fail at once or stall for 3 s. */
export type BlobFault = { hit(key: string): boolean; fault: "fail" | "slow" };

export type TestHost = Fetcher & {
  /** "worker" or "node" */
  kind: string;
  /** Where a client on this machine reaches the host over the network (none inside workerd). */
  url?: string;
  /** The host's engine: for direct runtime calls and its memory. */
  engine(): Promise<Engine>;
  storageSnapshot(): Promise<StorageSnapshot>;
  /** The app over the same storage, with its own caches, limits (the Worker's var names), admission, and faults on blob reads. */
  withDeps(o: { cache?: AdapterCache; stored?: AdapterCache<StoredAdapter>; fault?: BlobFault; limits?: Partial<Limits>; admission?: Admission }): Promise<Fetcher>;
  /** Seed an empty registry with the demo adapters (as `SEED_DEMO_ADAPTERS` does); whether it did. */
  seedDemo(): Promise<boolean>;
  /**
   * For requests whose body is a stream the test controls (cut off, endless, oversized): a host
   * whose transport reports a refusal that leaves such a body unread as an error of its own
   * (workerd's loopback: an uncaught "Network connection lost") serves them without that transport.
   */
  fetchStreamed?(r: Request): Promise<Response>;
};

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

/** Admin calls against a host. */
export function adminClient(host: Fetcher) {
  /** A request with the admin token (or `token`, or none with `token: null`). */
  const call = (method: string, path: string, body?: BodyInit | object, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<Response> => {
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
    return body instanceof ReadableStream && "fetchStreamed" in host && host.fetchStreamed ? (host as TestHost).fetchStreamed!(request) : host.fetch(request);
  };
  /** Upload an adapter; returns the response. */
  const push = (name: string, files: PeftFiles, token?: string | null): Promise<Response> => call("PUT", `/v1/adapters/${name}`, uploadForm(files), { token });
  return { call, push };
}

/** Error body of a response, checked to be OpenAI's shape. */
export async function errorOf(res: Response): Promise<{ code: string; type: string; message: string; param: string | null }> {
  const body = (await res.json()) as { error: { code: string; type: string; message: string; param: string | null } };
  return body.error;
}
