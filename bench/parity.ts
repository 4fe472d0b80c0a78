/**
 * Golden parity errors per adapter (relative L2 of lora-edge's logits against PEFT's fp32 logits)
 * and whether greedy tokens agree. `npx tsx bench/parity.ts`
 */
import { fileURLToPath } from "node:url";
import { GOLDEN_MODELS, GOLDEN_VARIANTS, loadGolden } from "../test/support/golden.ts";

export async function benchParity(): Promise<Record<string, { rel_l2: number; greedy_equal: boolean }>> {
  const out: Record<string, { rel_l2: number; greedy_equal: boolean }> = {};
  for (const model of GOLDEN_MODELS) {
    const golden = await loadGolden(model);
    for (const variant of GOLDEN_VARIANTS) {
      const { relL2, greedy } = await golden.compare(variant);
      out[`${model}.${variant}`] = { rel_l2: relL2, greedy_equal: greedy.every((g) => g.got.join() === g.want.join()) };
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await benchParity(), null, 2));
