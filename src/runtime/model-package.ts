/**
 * Load a model package (contract 1) from wherever its files live: a directory in Node, the Worker
 * bundle, R2. The caller supplies `read(path)`; this checks the manifest and the files' hashes.
 */
import { LoraEdgeError } from "../errors.ts";
import { parseManifest, type ModelManifest } from "./manifest.ts";

export type ModelPackage = {
  manifest: ModelManifest;
  /** sha256 of the manifest as compact JSON: this package's identity (its files, format, graph) */
  hash: string;
  /** the base's identity for adapters (`baseIdentity`): what an adapter records and is checked against */
  baseId: string;
  graph: Uint8Array;
  doraGraph?: Uint8Array;
  /** the batched graph variant, when the package has one */
  batchGraph?: Uint8Array;
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
 * A package's manifest and identities, without reading its other files. `json` is the file's JSON as
 * written (`manifest` is the validated copy, whose keys follow the schema's order): what a host hands
 * browsers, who hash it against `hash`.
 */
export async function loadManifest(read: (path: string) => Promise<Uint8Array>): Promise<{ manifest: ModelManifest; hash: string; baseId: string; json: unknown }> {
  const manifestBytes = await read("manifest.json");
  const text = new TextDecoder().decode(manifestBytes);
  let json: unknown;
  let manifest: ModelManifest;
  try {
    json = JSON.parse(text);
    manifest = parseManifest(json);
  } catch (cause) {
    throw new LoraEdgeError(500, "invalid_model_package", `manifest.json is not a lora-edge model manifest: ${String(cause)}`, { cause });
  }
  // compact JSON, so the identity does not depend on how the file was formatted or bundled
  const hash = await sha256Hex(new TextEncoder().encode(JSON.stringify(json)));
  return { manifest, hash, baseId: await baseIdentity(manifest, hash), json };
}

/**
 * The identity adapters are bound to. A package's manifest hash changes with its format, so the
 * fp32 package the Node host serves and the 4-bit one a browser runs would refuse each other's
 * adapters although both are the same GGUF's weights. What an adapter depends on is the function
 * the base computes (its weights, architecture, LoRA layout and tokenizer), not how it is stored:
 * a package that is `lossless` to a checkpoint named by its content hash (a GGUF or a Hugging Face
 * checkpoint) is identified by that checkpoint, its architecture, its LoRA targets and rank, and
 * its tokenizer files. Every other package (a lossy int8 or re-quantized int4, random or merged
 * weights) is identified by its manifest hash, as before: a different base is still refused.
 *
 * @example await baseIdentity(manifest, hash) // fp32 and carried-int4 SmolLM2: one value; int8: its hash
 */
export async function baseIdentity(manifest: ModelManifest, hash: string): Promise<string> {
  const { source } = manifest;
  const checkpoint = source.kind === "gguf" ? source.sha256 : source.kind === "huggingface" ? source.weights_sha256 : undefined;
  if (!manifest.quantization.lossless || !checkpoint) return hash;
  const { targets, max_rank } = manifest.lora;
  const f = manifest.files;
  const identity = { checkpoint, architecture: manifest.architecture, lora: { targets, max_rank }, tokenizer: f.tokenizer.sha256, tokenizer_config: f.tokenizer_config.sha256 };
  return sha256Hex(new TextEncoder().encode(`lora-edge.base/1 ${JSON.stringify(identity)}`));
}

/**
 * One file of a package, checked against its manifest entry unless `verify` is false. A file stored
 * in `parts` is read part by part (each checked) into one array.
 */
export async function readPackageFile(read: (path: string) => Promise<Uint8Array>, entry: FileEntry & { parts?: FileEntry[] }, opts: { verify?: boolean } = {}): Promise<Uint8Array> {
  if (entry.parts) {
    const whole = new Uint8Array(entry.bytes);
    let at = 0;
    for (const part of entry.parts) {
      const b = await readPackageFile(read, part, opts);
      if (at + b.byteLength > entry.bytes) throw new LoraEdgeError(500, "invalid_model_package", `${entry.path}: its parts hold more than the manifest's ${entry.bytes} bytes`);
      whole.set(b, at);
      at += b.byteLength;
    }
    if (at !== entry.bytes) throw new LoraEdgeError(500, "invalid_model_package", `${entry.path}: its parts hold ${at} bytes, manifest says ${entry.bytes}`);
    return whole;
  }
  const b = await read(entry.path);
  if (opts.verify === false) return b;
  if (b.byteLength !== entry.bytes) throw new LoraEdgeError(500, "invalid_model_package", `${entry.path}: ${b.byteLength} bytes, manifest says ${entry.bytes}`);
  if ((await sha256Hex(b)) !== entry.sha256) throw new LoraEdgeError(500, "invalid_model_package", `${entry.path}: sha256 does not match the manifest`);
  return b;
}

type FileEntry = ModelManifest["files"]["weights"];

/**
 * Every file of a package. `verify: false` skips size and hash checks (files from the Worker bundle, re-encoded JSON).
 *
 * @example const pkg = await loadModelPackage((p) => readFile(join(dir, p)).then((b) => new Uint8Array(b)));
 */
export async function loadModelPackage(read: (path: string) => Promise<Uint8Array>, opts: { verify?: boolean } = {}): Promise<ModelPackage> {
  const { manifest, hash, baseId } = await loadManifest(read);
  const f = manifest.files;
  const file = (e: FileEntry) => readPackageFile(read, e, opts);
  const json = async (e: FileEntry) => JSON.parse(new TextDecoder().decode(await file(e))) as unknown;
  const [graph, doraGraph, batchGraph, weights, tokenizerJson, tokenizerConfig, generationConfig] = await Promise.all([
    file(f.graph),
    f.dora_graph ? file(f.dora_graph) : undefined,
    f.batch_graph ? file(f.batch_graph) : undefined,
    file(f.weights),
    json(f.tokenizer),
    json(f.tokenizer_config),
    json(f.generation_config),
  ]);
  return { manifest, hash, baseId, graph, ...(doraGraph ? { doraGraph } : {}), ...(batchGraph ? { batchGraph } : {}), weights, tokenizerJson, tokenizerConfig, generationConfig };
}
