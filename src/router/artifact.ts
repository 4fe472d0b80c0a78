/**
 * The stored router (models/router/router.json): a versioned JSON document whose weights are int8
 * with one float scale per class row, base64-encoded. JSON because the Worker bundles it as a module
 * with no loader; int8 because it keeps the file small (4 classes × 65,536 buckets ≈ 350 KB of
 * base64) and the model is calibrated after quantisation, so the stored numbers are the served ones.
 */
import { z } from "zod";
import { LoraEdgeError } from "../errors.ts";
import type { Router } from "./router.ts";
import { NONE_CLASS } from "./router.ts";

export const ROUTER_ARTIFACT_FORMAT = "lora-edge-router";
export const ROUTER_ARTIFACT_VERSION = 1;

const trainOptionsSchema = z.object({ l2: z.number().nonnegative(), iterations: z.number().int().positive(), learningRate: z.number().positive() });

const routerArtifactSchema = z.object({
  format: z.literal(ROUTER_ARTIFACT_FORMAT),
  version: z.literal(ROUTER_ARTIFACT_VERSION),
  features: z.object({
    hash: z.literal("fnv1a32-fmix32"),
    dim: z.number().int().min(2).max(1 << 24).refine((n) => (n & (n - 1)) === 0, "dim must be a power of two"),
    charNgramMin: z.number().int().min(1),
    charNgramMax: z.number().int().min(1).max(16),
    wordGroupWeight: z.number().nonnegative(),
    maxChars: z.number().int().positive(),
  }),
  classes: z.array(z.string().min(1)).min(2),
  temperature: z.number().positive(),
  thresholds: z.record(z.string(), z.number().min(0).max(1)),
  addedDomainThreshold: z.number().min(0).max(1),
  context: z.object({ earlierTurnWeight: z.number().min(0).max(1), maxEarlierTurns: z.number().int().nonnegative(), earlierTurnMaxChars: z.number().int().positive() }),
  training: z.object({ base: trainOptionsSchema, addDomain: trainOptionsSchema }),
  /** Informational: what the training CLI measured on the validation split. */
  metrics: z.record(z.string(), z.number()),
  bias: z.array(z.number()),
  weights: z.object({ encoding: z.literal("int8-row-scale"), scales: z.array(z.number().nonnegative()), base64: z.string() }),
  /** Per-bucket feature weights (`FeatureConfig.bucketWeights`), uint8 times one scale; absent → all 1. */
  bucketWeights: z.object({ encoding: z.literal("uint8-scale"), scale: z.number().positive(), base64: z.string() }).optional(),
  replay: z.record(z.string(), z.array(z.string())),
});

/** The artifact as stored; `loadRouter` validates unknown JSON into this and then into a `Router`. */
export type RouterArtifact = z.infer<typeof routerArtifactSchema>;

/** Everything in an artifact apart from the model weights themselves. */
export type RouterArtifactHeader = Omit<RouterArtifact, "format" | "version" | "bias" | "weights" | "classes">;

/**
 * Validates a parsed artifact and builds the in-memory router; throws a 500 `invalid_router_artifact`
 * error naming the first problem.
 *
 * @example const router = loadRouter(JSON.parse(await (await fetch(url)).text()))
 */
export function loadRouter(json: unknown): Router {
  const parsed = routerArtifactSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidArtifact(`${issue?.path.join(".") || "artifact"}: ${issue?.message ?? "invalid"}`);
  }
  const artifact = parsed.data;
  const { classes, features } = artifact;
  const classCount = classes.length;
  if (!classes.includes(NONE_CLASS)) throw invalidArtifact(`classes must include "${NONE_CLASS}"`);
  if (new Set(classes).size !== classCount) throw invalidArtifact("classes must be unique");
  if (features.charNgramMin > features.charNgramMax) throw invalidArtifact("charNgramMin > charNgramMax");
  if (artifact.bias.length !== classCount) throw invalidArtifact(`bias has ${artifact.bias.length} values for ${classCount} classes`);
  if (artifact.weights.scales.length !== classCount) throw invalidArtifact(`weights.scales has ${artifact.weights.scales.length} values for ${classCount} classes`);
  for (const domain of Object.keys(artifact.thresholds)) if (!classes.includes(domain) || domain === NONE_CLASS) throw invalidArtifact(`threshold for unknown domain "${domain}"`);
  for (const domain of classes) if (domain !== NONE_CLASS && artifact.thresholds[domain] === undefined) throw invalidArtifact(`no threshold for domain "${domain}"`);
  for (const domain of Object.keys(artifact.replay)) if (!classes.includes(domain)) throw invalidArtifact(`replay texts for unknown class "${domain}"`);

  let quantised: Uint8Array;
  try {
    quantised = decodeBase64(artifact.weights.base64);
  } catch {
    throw invalidArtifact("weights.base64 is not base64");
  }
  if (quantised.length !== classCount * features.dim) throw invalidArtifact(`weights hold ${quantised.length} values, expected ${classCount}×${features.dim}`);
  let bucketWeights: Float32Array | undefined;
  if (artifact.bucketWeights) {
    let bytes: Uint8Array;
    try {
      bytes = decodeBase64(artifact.bucketWeights.base64);
    } catch {
      throw invalidArtifact("bucketWeights.base64 is not base64");
    }
    if (bytes.length !== features.dim) throw invalidArtifact(`bucketWeights hold ${bytes.length} values, expected ${features.dim}`);
    bucketWeights = dequantiseBucketWeights(bytes, artifact.bucketWeights.scale);
  }
  const signed = new Int8Array(quantised.buffer, quantised.byteOffset, quantised.length);
  const weights = new Float32Array(classCount * features.dim); // [classes, dim]
  for (let c = 0; c < classCount; c++) {
    const scale = artifact.weights.scales[c] as number;
    for (let j = c * features.dim; j < (c + 1) * features.dim; j++) weights[j] = (signed[j] as number) * scale;
  }
  return {
    features: { dim: features.dim, charNgramMin: features.charNgramMin, charNgramMax: features.charNgramMax, wordGroupWeight: features.wordGroupWeight, maxChars: features.maxChars, ...(bucketWeights ? { bucketWeights } : {}) },
    model: { classes, dim: features.dim, weights, bias: Float32Array.from(artifact.bias) },
    temperature: artifact.temperature,
    thresholds: artifact.thresholds,
    addedDomainThreshold: artifact.addedDomainThreshold,
    context: artifact.context,
    replay: artifact.replay,
    addDomainTraining: artifact.training.addDomain,
  };
}

/**
 * Quantises float weights to int8 per class row: `q = round(w / s)`, `s = max|w| / 127`, and
 * returns the quantised bytes and the scales (dequantise with `q · s`).
 *
 * @example quantiseRows(weights, 4, 65536) // → { bytes: Int8Array(262144), scales: [4 numbers] }
 */
export function quantiseRows(weights: Float32Array, rows: number, dim: number): { bytes: Int8Array; scales: number[] } {
  const bytes = new Int8Array(rows * dim);
  const scales: number[] = [];
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) maxAbs = Math.max(maxAbs, Math.abs(weights[j] as number));
    // float32-rounded so the loader's Float32Array arithmetic reproduces training's dequantisation
    const scale = Math.fround(maxAbs / 127);
    scales.push(scale);
    for (let j = r * dim; j < (r + 1) * dim; j++) bytes[j] = scale > 0 ? Math.round((weights[j] as number) / scale) : 0;
  }
  return { bytes, scales };
}

/**
 * Quantises non-negative per-bucket weights to uint8: `q = round(w / s)`, `s = max w / 255`
 * (float32-rounded, like `quantiseRows`).
 *
 * @example quantiseBucketWeights(idf) // → { bytes: Uint8Array(65536), scale: 0.036 }
 */
export function quantiseBucketWeights(weights: Float32Array): { bytes: Uint8Array; scale: number } {
  let max = 0;
  for (const w of weights) max = Math.max(max, w);
  const scale = Math.fround(max > 0 ? max / 255 : 1);
  return { bytes: Uint8Array.from(weights, (w) => Math.round(w / scale)), scale };
}

/** Inverse of `quantiseBucketWeights`: what training and serving both use. */
export function dequantiseBucketWeights(bytes: Uint8Array, scale: number): Float32Array {
  return Float32Array.from(bytes, (q) => q * scale);
}

/**
 * The artifact document for quantised weights plus header; `serialiseArtifact` turns it into bytes.
 *
 * @example const artifact = buildArtifact(["none","sales"], bias, quantiseRows(w, 2, dim), header)
 */
export function buildArtifact(classes: readonly string[], bias: Float32Array, quantised: { bytes: Int8Array; scales: number[] }, header: RouterArtifactHeader): RouterArtifact {
  return {
    format: ROUTER_ARTIFACT_FORMAT,
    version: ROUTER_ARTIFACT_VERSION,
    features: header.features,
    classes: classes.slice(),
    temperature: header.temperature,
    thresholds: header.thresholds,
    addedDomainThreshold: header.addedDomainThreshold,
    context: header.context,
    training: header.training,
    metrics: header.metrics,
    bias: Array.from(bias),
    weights: { encoding: "int8-row-scale", scales: quantised.scales, base64: encodeBase64(new Uint8Array(quantised.bytes.buffer, quantised.bytes.byteOffset, quantised.bytes.length)) },
    ...(header.bucketWeights ? { bucketWeights: header.bucketWeights } : {}),
    replay: header.replay,
  };
}

/**
 * Canonical text of an artifact: fixed key order (as built), one-space indentation, trailing
 * newline, so the same training run always writes the same bytes.
 *
 * @example writeFileSync("models/router/router.json", serialiseArtifact(artifact))
 */
export function serialiseArtifact(artifact: RouterArtifact): string {
  return JSON.stringify(artifact, null, 1) + "\n";
}

function invalidArtifact(reason: string): LoraEdgeError {
  return new LoraEdgeError(500, "invalid_router_artifact", `router artifact: ${reason}`);
}

/** Base64 with atob/btoa only, which workerd and Node both have. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
