import { describe, expect, it } from "vitest";
import { isTargeted, moduleScaling, parsePeftConfig, patternKey, pythonPattern } from "./peft-config.ts";
import { LoraEdgeError } from "../errors.ts";

const cfg = (fields: Record<string, unknown>) => parsePeftConfig({ peft_type: "LORA", r: 8, lora_alpha: 16, target_modules: ["q_proj"], ...fields });
const q = (l: number) => `model.layers.${l}.self_attn.q_proj`;

describe("parsePeftConfig", () => {
  it("fills PEFT's defaults and keeps unknown keys", () => {
    const c = cfg({ some_future_field: 1 });
    expect([c.use_rslora, c.use_dora, c.fan_in_fan_out, c.bias, c.rank_pattern, c.alpha_pattern]).toEqual([false, false, false, "none", {}, {}]);
    expect((c as Record<string, unknown>)["some_future_field"]).toBe(1);
    expect(cfg({ rank_pattern: null }).rank_pattern).toEqual({});
  });
});

describe("PEFT's target matching", () => {
  it("a list matches the full name or a dotted suffix, never a bare substring", () => {
    expect(isTargeted(cfg({ target_modules: ["q_proj"] }), q(0))).toBe(true);
    expect(isTargeted(cfg({ target_modules: ["self_attn.q_proj"] }), q(0))).toBe(true);
    expect(isTargeted(cfg({ target_modules: ["layers.1.self_attn.q_proj"] }), q(0))).toBe(false);
    expect(isTargeted(cfg({ target_modules: ["proj"] }), q(0))).toBe(false);
    expect(isTargeted(cfg({ target_modules: [q(2)] }), q(2))).toBe(true);
  });

  it("a string is re.fullmatch on the full module name", () => {
    expect(isTargeted(cfg({ target_modules: "q_proj" }), q(0))).toBe(false);
    expect(isTargeted(cfg({ target_modules: String.raw`.*\.q_proj` }), q(0))).toBe(true);
    expect(isTargeted(cfg({ target_modules: String.raw`model\.layers\.[01]\..*(q|v)_proj` }), q(1))).toBe(true);
    expect(isTargeted(cfg({ target_modules: String.raw`model\.layers\.[01]\..*(q|v)_proj` }), q(2))).toBe(false);
    expect(pythonPattern(String.raw`(?P<blk>self_attn)\.q_proj`, "suffix", "rank_pattern").test(q(0))).toBe(true);
  });

  it("layers_to_transform takes an int or a list, with or without layers_pattern", () => {
    expect(isTargeted(cfg({ layers_to_transform: 1 }), q(1))).toBe(true);
    expect(isTargeted(cfg({ layers_to_transform: 1 }), q(0))).toBe(false);
    expect(isTargeted(cfg({ layers_to_transform: [0, 2], layers_pattern: "layers" }), q(2))).toBe(true);
    expect(isTargeted(cfg({ layers_to_transform: [0, 2], layers_pattern: ["h", "layers"] }), q(1))).toBe(false);
    expect(isTargeted(cfg({ layers_to_transform: [0], layers_pattern: "blocks" }), q(0))).toBe(false);
    expect(isTargeted(cfg({ layers_to_transform: [] }), q(3))).toBe(true);
  });

  it("exclude_modules wins over target_modules", () => {
    expect(isTargeted(cfg({ target_modules: "all-linear", exclude_modules: ["q_proj"] }), q(0))).toBe(false);
    expect(isTargeted(cfg({ target_modules: String.raw`.*_proj`, exclude_modules: String.raw`.*\.1\..*` }), q(1))).toBe(false);
  });
});

describe("rank/alpha patterns and scaling", () => {
  it("pattern keys match as (.*\\.)?key$ and the first matching key wins", () => {
    expect(patternKey({ "v_proj": 2 }, q(0), "rank_pattern")).toBeUndefined();
    expect(patternKey({ "proj": 2 }, q(0), "rank_pattern")).toBeUndefined();
    expect(patternKey({ "q_proj": 2, "layers.0.self_attn.q_proj": 3 }, q(0), "rank_pattern")).toBe("q_proj");
    expect(patternKey({ [String.raw`layers\.[0-1]\.self_attn\.q_proj`]: 3 }, q(1), "alpha_pattern")).toBe(String.raw`layers\.[0-1]\.self_attn\.q_proj`);
    expect(patternKey({ [q(4)]: 3 }, q(4), "rank_pattern")).toBe(q(4));
  });

  it("scaling is α/r, α/√r with rsLoRA, after the patterns", () => {
    expect(moduleScaling(cfg({}), q(0))).toEqual({ rank: 8, alpha: 16, scaling: 2 });
    expect(moduleScaling(cfg({ use_rslora: true, rank_pattern: { q_proj: 4 } }), q(0))).toEqual({ rank: 4, alpha: 16, scaling: 8 });
    expect(moduleScaling(cfg({ alpha_pattern: { "layers.3.self_attn.q_proj": 4 } }), q(3))).toEqual({ rank: 8, alpha: 4, scaling: 0.5 });
  });
});

describe("patterns from uploads run in linear time (re2js)", () => {
  const modules = Array.from({ length: 64 }, (_, l) => q(l) + ".x".repeat(40) + "y");

  it.each([
    ["(.*)*x", "target_modules"],
    [".*".repeat(9) + "x", "target_modules"],
    ["(a|a)*b", "exclude_modules"],
    ["(x+x+)+y", "rank_pattern"],
  ])("a catastrophic pattern %j in %s answers in milliseconds", (pattern, field) => {
    const config =
      field === "rank_pattern" ? cfg({ rank_pattern: { [pattern]: 4 } }) : field === "exclude_modules" ? cfg({ target_modules: ".*", exclude_modules: pattern }) : cfg({ target_modules: pattern });
    const t0 = performance.now();
    for (const m of modules) {
      isTargeted(config, m);
      moduleScaling(config, m);
    }
    expect(performance.now() - t0).toBeLessThan(1000); // a backtracking engine takes minutes here
  });

  it.each([
    [{ layers_to_transform: [0], layers_pattern: "(" }, "layers_pattern"],
    [{ layers_to_transform: [0], layers_pattern: ["layers", "["] }, "layers_pattern"],
    [{ target_modules: "(" }, "target_modules"],
    [{ exclude_modules: "q_proj)" }, "exclude_modules"],
    [{ rank_pattern: { "(?P<a>q)(?P=a)": 2 } }, "rank_pattern"],
    [{ alpha_pattern: { "(?=q)q_proj": 2 } }, "alpha_pattern"],
  ])("an invalid pattern %j is a 400 invalid_adapter_config naming %s", (fields, field) => {
    let err: unknown;
    try {
      cfg(fields);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LoraEdgeError);
    expect(err).toMatchObject({ status: 400, code: "invalid_adapter_config", param: `adapter_config.json.${field}` });
    expect((err as Error).message).toContain(field);
  });

  it("keeps PEFT's semantics: fullmatch for a target_modules string, dotted suffix for list entries, re.match for layers_pattern", () => {
    expect(isTargeted(cfg({ target_modules: "self_attn.q_proj" }), q(0))).toBe(false); // not a full match
    expect(isTargeted(cfg({ target_modules: ".*self_attn.q_proj" }), q(0))).toBe(true);
    expect(isTargeted(cfg({ target_modules: ["attn.q_proj"] }), q(0))).toBe(false); // list entries are dotted suffixes, not regexes
    expect(isTargeted(cfg({ target_modules: ["self_attn.q_proj"] }), q(0))).toBe(true);
    // layers_pattern may sit at the start of the name, and the first numbered segment is the layer
    expect(isTargeted(cfg({ target_modules: ["q_proj"], layers_to_transform: [3], layers_pattern: "model.layers" }), q(3))).toBe(true);
    expect(isTargeted(cfg({ target_modules: ["q_proj"], layers_to_transform: [3], layers_pattern: "lay.rs" }), q(3))).toBe(true);
    // a module named in full in the list skips the layer filter (PEFT's check_target_module_exists)
    expect(isTargeted(cfg({ target_modules: [q(2)], layers_to_transform: [0] }), q(2))).toBe(true);
  });
});
