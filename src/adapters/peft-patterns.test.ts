/**
 * rank_pattern / alpha_pattern precedence against PEFT itself: test/fixtures/peft-patterns.json holds
 * the rank, alpha and scaling PEFT gave every LoRA layer of a tiny Llama for configs whose keys
 * overlap in several orders (written by training/make_pattern_golden.py, checked against PEFT by
 * training/tests/test_pattern_golden.py).
 */
import { describe, expect, it } from "vitest";
import golden from "../../test/fixtures/peft-patterns.json";
import { moduleScaling, parsePeftConfig } from "./peft-config.ts";

type Case = { name: string; rank_pattern: Record<string, number>; alpha_pattern: Record<string, number>; modules: Record<string, { rank: number; alpha: number; scaling: number }> };

describe(`rank_pattern / alpha_pattern as PEFT ${golden.peft_version} applies them`, () => {
  it.each((golden.cases as unknown as Case[]).map((c) => [c.name, c] as const))("%s: every module gets PEFT's rank, alpha and scaling", (_, c) => {
    const config = parsePeftConfig({ peft_type: "LORA", r: golden.base.r, lora_alpha: golden.base.lora_alpha, target_modules: golden.base.target_modules, rank_pattern: c.rank_pattern, alpha_pattern: c.alpha_pattern });
    const ours = Object.fromEntries(Object.keys(c.modules).map((name) => [name, moduleScaling(config, name)]));
    for (const [name, want] of Object.entries(c.modules)) {
      expect({ name, rank: ours[name]!.rank, alpha: ours[name]!.alpha }).toEqual({ name, rank: want.rank, alpha: want.alpha });
      expect(Math.abs(ours[name]!.scaling - want.scaling)).toBeLessThanOrEqual(1e-12 * Math.abs(want.scaling));
    }
    expect(Object.keys(c.modules)).toHaveLength(golden.base.num_hidden_layers * 7);
  });
});
