/**
 * Load a model package (contract 1) from wherever its files live: a directory in Node, the Worker
 * bundle, R2. The caller supplies `read(path)`; this checks the manifest and the files' hashes.
 */
import { LoraEdgeError } from "../errors.ts";
import { parseManifest, type ModelManifest } from "./manifest.ts";

export type ModelPackage = {
  manifest: ModelManifest;
  /** sha256 of the manifest as compact JSON: the model's identity, recorded by adapters checked against it */
  hash: string;
  graph: Uint8Array;
  doraGraph?: Uint8Array;
  weights: Uint8Array;
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  generationConfig: unknown;
};

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * @example const pkg = await loadModelPackage((p) => readFile(join(dir, p)).then((b) => new Uint8Array(b)));
 */
/** `verify: false` skips size and hash checks (files from the Worker bundle, re-encoded JSON). */
export async function loadModelPackage(read: (path: string) => Promise<Uint8Array>, opts: { verify?: boolean } = {}): Promise<ModelPackage> {
  const manifestBytes = await read("manifest.json");
  const decoder = new TextDecoder();
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(JSON.parse(decoder.decode(manifestBytes)));
  } catch (cause) {
    throw new LoraEdgeError(500, "invalid_model_package", `manifest.json is not a lora-edge model manifest: ${String(cause)}`, { cause });
  }
  const f = manifest.files;
  const entries = [f.graph, f.weights, f.tokenizer, f.tokenizer_config, f.generation_config, ...(f.dora_graph ? [f.dora_graph] : [])];
  const bytes = new Map<string, Uint8Array>();
  await Promise.all(
    entries.map(async (e) => {
      const b = await read(e.path);
      if (opts.verify === false) return void bytes.set(e.path, b);
      if (b.byteLength !== e.bytes) throw new LoraEdgeError(500, "invalid_model_package", `${e.path}: ${b.byteLength} bytes, manifest says ${e.bytes}`);
      if ((await sha256Hex(b)) !== e.sha256) throw new LoraEdgeError(500, "invalid_model_package", `${e.path}: sha256 does not match the manifest`);
      bytes.set(e.path, b);
    }),
  );
  const json = (path: string) => JSON.parse(decoder.decode(bytes.get(path)!)) as unknown;
  return {
    manifest,
    // compact JSON, so the identity does not depend on how the file was formatted or bundled
    hash: await sha256Hex(new TextEncoder().encode(JSON.stringify(JSON.parse(decoder.decode(manifestBytes))))),
    graph: bytes.get(f.graph.path)!,
    ...(f.dora_graph ? { doraGraph: bytes.get(f.dora_graph.path)! } : {}),
    weights: bytes.get(f.weights.path)!,
    tokenizerJson: json(f.tokenizer.path),
    tokenizerConfig: json(f.tokenizer_config.path),
    generationConfig: json(f.generation_config.path),
  };
}
