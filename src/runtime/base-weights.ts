/**
 * Read one projection's served base weight back from the weights file, dequantized to float32
 * `[in, out]`: exactly what the graph multiplies by. DoRA preparation needs it (the magnitude is
 * normalised by ‖W + ΔW‖), and so do merges and tests.
 */
import { LoraEdgeError } from "../errors.ts";
import { groupLayout, LORA_GROUPS, type ModelManifest, type Projection } from "./manifest.ts";
// the inverse of the builder's quantizers: pure functions, safe in the Worker
import { dequantizeInt4, dequantizeInt8 } from "../build/quantize.ts";

function view(manifest: ModelManifest, weights: Uint8Array, name: string) {
  const e = manifest.weights_index[name];
  if (!e) throw new LoraEdgeError(500, "invalid_model_package", `weights file has no tensor ${name}`);
  const bytes = weights.slice(e.offset, e.offset + e.bytes); // copy: typed views need alignment
  return { e, buffer: bytes.buffer };
}

/** @example const w = readBaseWeight(manifest, weights, 0, "k_proj"); // Float32Array [hidden, kv_heads*head_dim] */
export function readBaseWeight(manifest: ModelManifest, weights: Uint8Array, layer: number, proj: Projection): Float32Array {
  const arch = manifest.architecture;
  const group = LORA_GROUPS.find((g) => (g.projections as readonly string[]).includes(proj))!.name;
  const { in: K, out: N, columns } = groupLayout(arch, group);
  const [c0, c1] = columns[proj]!;
  const base = `layers.${layer}.${group}.weight`;
  const fused = new Float32Array(K * N); // [K, N]
  switch (manifest.quantization.weights) {
    case "fp32":
      fused.set(new Float32Array(view(manifest, weights, base).buffer));
      break;
    case "int8":
      fused.set(dequantizeInt8({ q: new Int8Array(view(manifest, weights, `${base}.q`).buffer), scale: new Float32Array(view(manifest, weights, `${base}.scale`).buffer), K, N }));
      break;
    case "int4":
      fused.set(
        dequantizeInt4({
          packed: new Uint8Array(view(manifest, weights, `${base}.q4`).buffer),
          scales: new Float32Array(view(manifest, weights, `${base}.scales`).buffer),
          zeros: new Uint8Array(view(manifest, weights, `${base}.zeros`).buffer),
          K,
          N,
          blockSize: manifest.quantization.block_size ?? 32,
        }),
      );
      break;
  }
  const out = new Float32Array(K * (c1 - c0));
  for (let k = 0; k < K; k++) out.set(fused.subarray(k * N + c0, k * N + c1), k * (c1 - c0));
  return out;
}
