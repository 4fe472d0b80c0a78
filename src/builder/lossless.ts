/**
 * Whether a package serves its source's weights as they are: every weight read back from the
 * package (dequantized, src/builder/unpack.ts) against the checkpoint it was built from. fp32 and a
 * GGUF's blocks carried into MatMulNBits pass; int8, and int4 quantized here, do not. Only the
 * comparison is trusted, never the format's name, so a package that quietly re-quantized one layer
 * (a projection type the GGUF does not carry) is not lossless.
 */
import type { ModelPackage } from "../runtime/model-package.ts";
import type { HfWeights } from "./llama-graph.ts";
import { unpackModelPackage } from "./unpack.ts";

/**
 * Largest difference allowed, relative to the tensor's largest magnitude. A carried Q4_1 block is
 * served as `(q − 8)·d + (m + 8d)` where the GGUF means `q·d + m`: the same number up to float32
 * rounding (~1e-7 of the tensor's range); a lossy format is off by a quantization step (int8 ~4e-3,
 * 4-bit ~3e-2 of the range).
 */
export const LOSSLESS_TOLERANCE = 1e-5;

/**
 * The largest relative difference between what `pkg` serves and `source` over every weight (the
 * tied lm_head against the embedding): ≤ `LOSSLESS_TOLERANCE` means lossless.
 *
 * @example servedWeightError({ manifest, weights }, ckpt.weights) // 6e-8 for SmolLM2's carried int4
 */
export function servedWeightError(pkg: Pick<ModelPackage, "manifest" | "weights">, source: HfWeights): number {
  if (pkg.manifest.quantization.weights === "int8") return Infinity; // weights and activations are quantized by design
  let worst = 0;
  for (const [name, served] of unpackModelPackage(pkg).weights) {
    const want = source.get(name) ?? (name === "lm_head.weight" ? source.get("model.embed_tokens.weight") : undefined);
    if (!want || want.length !== served.length) return Infinity;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      diff = Math.max(diff, Math.abs(served[i]! - want[i]!));
    }
    worst = Math.max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}
