/**
 * Write a model package (contract 1): graph, external weights, optional DoRA graph, tokenizer
 * files, generation config and the manifest that names them all with their sha256.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildLlamaGraph, type HfWeights, type SmoothScales } from "./llama-graph.ts";
import { LOSSLESS_TOLERANCE, servedWeightError } from "./lossless.ts";
import type { Int4Weight } from "./quantize.ts";
import { PROJECTIONS, type Architecture, type ModelManifest, type WeightFormat } from "../runtime/manifest.ts";

export type BuildPackageOptions = {
  name: string;
  arch: Architecture;
  weights: HfWeights;
  format: WeightFormat;
  source: ModelManifest["source"];
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  generationConfig: unknown;
  maxRank?: number;
  /** Also write the DoRA graph variant (same weights file). */
  dora?: boolean;
  /** Also write the batched graph variant (same weights file; src/builder/batch-graph.ts). */
  batch?: boolean;
  blockSize?: number;
  /** false: a graph without LoRA inputs (benchmarks and bit-identity checks only). */
  lora?: boolean;
  /** int8: SmoothQuant scales (smooth.ts) and the α they were computed with. */
  smooth?: { scales: SmoothScales; alpha: number };
  /** int8: activation scales per tensor (default), per row, or per row and block of 32 with block weights (see `GraphOptions.int8Activations`). */
  int8Activations?: "tensor" | "row" | "block";
  /** int8: products wider than this many columns as blocks of it (default `INT8_COLUMN_BLOCK`; 0: whole, for comparisons; see `GraphOptions.int8ColumnBlock`). */
  int8ColumnBlock?: number;
  /** int4: compute in fp32 (default; exact for carried blocks) or quantize activations per block of 32 (see `GraphOptions.int4Activations`). */
  int4Activations?: "fp32" | "block";
  /** int4: 8-bit blocks as two 4-bit halves, for onnxruntime-node (see `GraphOptions.splitEightBit`). */
  splitEightBit?: boolean;
  /** int4: weights carried in MatMulNBits' layout (a GGUF's blocks; see `GraphOptions.carried`). */
  carried?: Map<string, Int4Weight>;
  /** Store the weights file as parts of at most this many bytes (`model.weights.000`, …), read as one. */
  splitWeightsBytes?: number;
};

const SCHEMES: Record<WeightFormat, string> = {
  fp32: "fp32 MatMul",
  int8: "int8 symmetric per output channel (stored as uint8 with zero point 128), com.microsoft.DynamicQuantizeMatMul (activations quantized per tensor at run time)",
  int4: "4-bit asymmetric blocks along the input, com.microsoft.MatMulNBits",
};

function schemeOf(o: BuildPackageOptions): string {
  const compute = o.int4Activations === "block" ? "accuracy_level 4 (activations quantized to int8 per row and block at run time)" : "computing in fp32";
  if (o.format === "int4" && o.carried?.size) {
    return `4-bit blocks of 32 carried from the GGUF without re-quantizing (Q4_0 as they are; Q4_1 with the minimum as a per-block offset; Q8_0 as 8-bit${o.splitEightBit && o.int4Activations !== "block" ? ", split into two 4-bit halves" : ""}), default zero points, com.microsoft.MatMulNBits ${compute}`;
  }
  if (o.format === "int4") return `${SCHEMES.int4} ${compute}`;
  if (o.format !== "int8") return SCHEMES[o.format];
  const parts = [
    o.int8Activations === "block" ? `int8 symmetric in blocks of ${o.blockSize ?? 32} along the input, com.microsoft.MatMulNBits accuracy_level 4 (activations quantized per row and block at run time)`
    : o.int8Activations === "row" ? "int8 symmetric per output channel (stored as uint8 with zero point 128), com.microsoft.MatMulIntegerToFloat (activations quantized per row at run time)" : SCHEMES.int8,
  ];
  if (o.smooth) parts.push(`SmoothQuant input scaling (α = ${o.smooth.alpha}) calibrated on the builder's corpus`);
  return parts.join("; ");
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Parameters in the weights (the embedding counted once when tied). */
export function parameterCount(weights: HfWeights): number {
  let n = 0;
  for (const t of weights.values()) n += t.length;
  return n;
}

/**
 * Assemble a package's files in memory (tests load them directly; the CLI writes them).
 *
 * @example const { files, manifest } = assembleModelPackage({ name: "demo", arch, weights, format: "int8", source: { kind: "random", seed: 1 }, ... })
 */
export function assembleModelPackage(o: BuildPackageOptions): { files: Record<string, Uint8Array>; manifest: ModelManifest } {
  const graphOpts = {
    format: o.format, ...(o.blockSize ? { blockSize: o.blockSize } : {}), ...(o.lora === false ? { lora: false } : {}), ...(o.smooth ? { smooth: o.smooth.scales } : {}),
    ...(o.int8Activations ? { int8Activations: o.int8Activations } : {}),
    ...(o.int8ColumnBlock !== undefined ? { int8ColumnBlock: o.int8ColumnBlock } : {}),
    ...(o.format === "int4" && o.int4Activations ? { int4Activations: o.int4Activations } : {}),
    ...(o.format === "int4" && o.splitEightBit ? { splitEightBit: true } : {}),
    ...(o.format === "int4" && o.carried ? { carried: o.carried } : {}),
  };
  const plain = buildLlamaGraph(o.arch, o.weights, graphOpts).serialize({ weightsPath: "model.weights", docString: `lora-edge ${o.name}` });
  const files: Record<string, Uint8Array | string> = {
    "model.onnx": plain.model,
    "model.weights": plain.weights,
    "tokenizer.json": JSON.stringify(o.tokenizerJson),
    "tokenizer_config.json": JSON.stringify(o.tokenizerConfig, null, 2),
    "generation_config.json": JSON.stringify(o.generationConfig, null, 2),
  };
  if (o.dora) {
    const dora = buildLlamaGraph(o.arch, o.weights, { ...graphOpts, dora: true }).serialize({ weightsPath: "model.weights" });
    // same initializers in the same order, so the one weights file serves both graphs
    if (sha256Hex(dora.weights) !== sha256Hex(plain.weights)) throw new Error("DoRA graph weights differ from the plain graph's");
    files["model.dora.onnx"] = dora.model;
  }
  if (o.batch) {
    const batched = buildLlamaGraph(o.arch, o.weights, { ...graphOpts, batch: true }).serialize({ weightsPath: "model.weights" });
    if (sha256Hex(batched.weights) !== sha256Hex(plain.weights)) throw new Error("batched graph weights differ from the plain graph's");
    files["model.batch.onnx"] = batched.model;
  }
  // split: the parts replace the one file; the manifest keeps the whole's size and hash for identity
  const parts: string[] = [];
  if (o.splitWeightsBytes && plain.weights.byteLength > o.splitWeightsBytes) {
    for (let at = 0, i = 0; at < plain.weights.byteLength; at += o.splitWeightsBytes, i++) {
      const path = `model.weights.${String(i).padStart(3, "0")}`;
      files[path] = plain.weights.subarray(at, at + o.splitWeightsBytes);
      parts.push(path);
    }
  }
  const entry = (path: string) => {
    const b = files[path]!;
    return { path, bytes: typeof b === "string" ? Buffer.byteLength(b) : b.byteLength, sha256: sha256Hex(b) };
  };
  const manifest: ModelManifest = {
    format: "lora-edge.model/1",
    name: o.name,
    architecture: o.arch,
    parameters: parameterCount(o.weights),
    quantization: {
      weights: o.format,
      scheme: schemeOf(o),
      ...(o.format === "int4" || o.int8Activations === "block" ? { block_size: o.blockSize ?? 32 } : {}),
      ...(o.format === "int4" ? { activations: o.int4Activations === "block" ? "int8" : "fp32" } : {}),
    },
    lora: { targets: [...PROJECTIONS], max_rank: o.maxRank ?? 64, ...(o.dora ? { dora_graph: "model.dora.onnx" } : {}) },
    files: {
      graph: entry("model.onnx"),
      weights: { ...entry("model.weights"), ...(parts.length ? { parts: parts.map(entry) } : {}) },
      tokenizer: entry("tokenizer.json"),
      tokenizer_config: entry("tokenizer_config.json"),
      generation_config: entry("generation_config.json"),
      ...(o.dora ? { dora_graph: entry("model.dora.onnx") } : {}),
      ...(o.batch ? { batch_graph: entry("model.batch.onnx") } : {}),
    },
    weights_index: plain.index,
    source: o.source,
  };
  // lossless only where every weight read back equals the source's (it then shares the source's base identity)
  if (servedWeightError({ manifest, weights: plain.weights }, o.weights) <= LOSSLESS_TOLERANCE) manifest.quantization.lossless = true;
  if (parts.length) delete files["model.weights"];
  const encoded: Record<string, Uint8Array> = {};
  for (const [name, b] of Object.entries(files)) encoded[name] = typeof b === "string" ? new TextEncoder().encode(b) : b;
  encoded["manifest.json"] = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
  return { files: encoded, manifest };
}

/** Write an assembled package to `dir`. */
export function writeModelPackage(dir: string, files: Record<string, Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
}
