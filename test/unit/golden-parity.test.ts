/**
 * Golden parity with PEFT (issue 6): the builder converts the golden checkpoints that
 * training/make_golden.py wrote with transformers, the runtime loads the PEFT-written adapters, and
 * lora-edge's logits match PEFT's fp32 logits; greedy decoding gives PEFT's 16 tokens.
 */
import { describe, expect, it } from "vitest";
import { GOLDEN_MODELS, GOLDEN_VARIANTS, loadGolden } from "../support/golden.ts";

describe.each(GOLDEN_MODELS)("%s golden fixtures (PEFT fp32 logits)", (model) => {
  const golden = loadGolden(model);

  it.each(GOLDEN_VARIANTS)("%s: logits within relative L2 1e-4 of PEFT's, greedy tokens equal", async (variant) => {
    const { relL2, greedy } = await (await golden).compare(variant);
    expect(relL2).toBeLessThan(1e-4);
    for (const [i, { got, want }] of greedy.entries()) expect(got, `sequence ${i}`).toEqual(want);
  });
});
