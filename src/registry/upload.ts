/**
 * Everything an upload needs before any byte is stored: parse and validate the PEFT files against
 * the served base (src/adapters' rules plus `MAX_ADAPTER_RANK`), prepare the runtime form once, and
 * hash every blob. A refused adapter throws here, so storage never sees it.
 */
import { loadPeftAdapter } from "../adapters/load-peft.ts";
import { prepareAdapter, serializePreparedAdapter } from "../adapters/prepare.ts";
import { parseSafetensors } from "../adapters/safetensors.ts";
import { sha256Hex } from "../runtime/model-package.ts";
import { PROJECTIONS, type ModelManifest, type Projection } from "../runtime/manifest.ts";
import type { Blob, PreparedUpload } from "./types.ts";

/** What registration needs from the serving engine (an `Engine` satisfies it). */
export type UploadBase = {
  manifest: ModelManifest;
  /** the base identity adapters are bound to (`baseIdentity`, src/runtime/model-package.ts) */
  baseId: string;
  /** The served weights, dequantized, per projection; read only for DoRA adapters. */
  baseWeights(): Promise<(layer: number, projection: Projection) => Float32Array>;
};

/**
 * Validate and prepare a PEFT upload for `base`.
 *
 * @example const upload = await prepareUpload("support", { config, weights }, engine, { maxRank: 16 }); // throws LoraEdgeError(400, "rank_too_large", …) for r = 32
 */
export async function prepareUpload(name: string, files: { config: Uint8Array; weights: Uint8Array }, base: UploadBase, opts: { maxRank: number }): Promise<PreparedUpload> {
  const arch = base.manifest.architecture;
  const maxRank = Math.min(opts.maxRank, base.manifest.lora.max_rank);
  const peft = loadPeftAdapter(files, arch, { maxRank, targets: base.manifest.lora.targets });
  const prepared = prepareAdapter(peft, arch, { ...(peft.dora ? { baseWeight: await base.baseWeights() } : {}), baseId: base.baseId });

  let rank = 0;
  const targets = new Set<Projection>();
  for (const layer of peft.layers) {
    for (const [p, m] of Object.entries(layer)) {
      rank = Math.max(rank, m.rank);
      targets.add(p as Projection);
    }
  }
  const dtypes = new Set([...parseSafetensors(files.weights).values()].map((t) => t.dtype));
  return {
    name,
    summary: {
      base_model_hash: base.baseId,
      rank,
      alpha: peft.config.lora_alpha,
      targets: PROJECTIONS.filter((p) => targets.has(p)),
      dtype: dtypes.size === 1 ? [...dtypes][0]! : "mixed",
      dora: peft.dora,
      bytes: files.config.byteLength + files.weights.byteLength,
    },
    config: await blob(files.config),
    weights: await blob(files.weights),
    prepared: await blob(serializePreparedAdapter(prepared, arch, peft)),
  };
}

/** Bytes with their sha256 (hex), the content address they are stored under. */
export async function blob(bytes: Uint8Array): Promise<Blob> {
  return { bytes, sha256: await sha256Hex(bytes) };
}
