/**
 * Read one projection's served base weight back from the weights file, dequantized to float32
 * `[in, out]`: exactly what the graph multiplies by. DoRA preparation needs it (the magnitude is
 * normalised by ‖W + ΔW‖), and so do merges and tests.
 */
import { LoraEdgeError } from "../errors.ts";
import { groupLayout, LORA_GROUPS, type ModelManifest, type Projection } from "./manifest.ts";
// the inverse of the builder's quantizers: pure functions, safe in the Worker
import { dequantizeInt4, dequantizeInt8, offsetFromUint8 } from "../builder/quantize.ts";

/**
 * One tensor of the weights file, by its `weights_index` name, as a typed array (copied: typed
 * views need alignment).
 *
 * @example const scale = readWeightTensor(manifest, weights, "embed_tokens.scale", Float32Array);
 */
export function readWeightTensor<T extends Float32Array | Int8Array | Uint8Array>(manifest: ModelManifest, weights: Uint8Array, name: string, Ctor: new (b: ArrayBuffer) => T): T {
  const e = manifest.weights_index[name];
  if (!e) throw new LoraEdgeError(500, "invalid_model_package", `weights file has no tensor ${name}`);
  return new Ctor(weights.slice(e.offset, e.offset + e.bytes).buffer);
}

/**
 * A linear layer's served weight `[K, N]`, dequantized from the package's format.
 *
 * @example readLinearWeight(manifest, weights, "lm_head", hidden, vocab)
 */
export function readLinearWeight(manifest: ModelManifest, weights: Uint8Array, name: string, K: number, N: number): Float32Array {
  const t = <T extends Float32Array | Int8Array | Uint8Array>(suffix: string, Ctor: new (b: ArrayBuffer) => T) => readWeightTensor(manifest, weights, `${name}${suffix}`, Ctor);
  switch (manifest.quantization.weights) {
    case "fp32":
      return t("", Float32Array);
    case "int8": {
      // per output channel, or in blocks (MatMulNBits)
      // int8 values stored as uint8 with zero point 128 (`offsetToUint8`), or as int8 (packages built before)
      const q = () => (manifest.weights_index[`${name}.q`]?.dtype === "uint8" ? offsetFromUint8(t(".q", Uint8Array)) : t(".q", Int8Array));
      const w = manifest.weights_index[`${name}.q4`] ? readBlocks() : dequantizeInt8({ q: q(), scale: t(".scale", Float32Array), K, N });
      // a smoothed layer stores diag(s)·W (llama-graph.ts): the weight it serves is the rows divided by s
      if (!manifest.weights_index[`${name}.smooth`]) return w;
      const s = t(".smooth", Float32Array);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) w[k * N + n] = w[k * N + n]! / s[k]!;
      return w;
    }
    case "int4":
      return readBlocks();
  }
  /**
   * MatMulNBits blocks (int4, and int8 in blocks): bits from the packed shape [N, blocks, blockSize·bits/8],
   * twice the input's blocks for nibble halves (`repeats` 2); zero points packed, float, or absent; offsets if stored
   */
  function readBlocks(): Float32Array {
    const blockSize = manifest.quantization.block_size ?? 32;
    const packedDims = manifest.weights_index[`${name}.q4`]?.dims ?? [];
    const bits = (packedDims[2]! * 8) / blockSize === 8 ? 8 : 4;
    const z = manifest.weights_index[`${name}.zeros`];
    const zeros = !z ? undefined : z.dtype === "float32" ? t(".zeros", Float32Array) : t(".zeros", Uint8Array);
    const offsets = manifest.weights_index[`${name}.offsets`] ? t(".offsets", Float32Array) : undefined;
    const repeats = packedDims[1] === 2 * Math.ceil(K / blockSize) ? { repeats: 2 as const } : {};
    return dequantizeInt4({ packed: t(".q4", Uint8Array), scales: t(".scales", Float32Array), ...(zeros ? { zeros } : {}), ...(offsets ? { offsets } : {}), ...repeats, K, N, blockSize, bits });
  }
}

/** @example const w = readBaseWeight(manifest, weights, 0, "k_proj"); // Float32Array [hidden, kv_heads*head_dim] */
export function readBaseWeight(manifest: ModelManifest, weights: Uint8Array, layer: number, proj: Projection): Float32Array {
  const arch = manifest.architecture;
  const group = LORA_GROUPS.find((g) => (g.projections as readonly string[]).includes(proj))!.name;
  const { in: K, out: N, columns } = groupLayout(arch, group);
  const [c0, c1] = columns[proj]!;
  const fused = readLinearWeight(manifest, weights, `layers.${layer}.${group}.weight`, K, N); // [K, N]
  const out = new Float32Array(K * (c1 - c0));
  for (let k = 0; k < K; k++) out.set(fused.subarray(k * N + c0, k * N + c1), k * (c1 - c0));
  return out;
}
