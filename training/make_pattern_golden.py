#!/usr/bin/env python3
"""Write PEFT's own answer to "which rank and alpha does each module get" for configs whose
rank_pattern / alpha_pattern keys overlap, in several orders (general first, specific first, an exact
full name after a broader key, regex and plain keys): test/fixtures/peft-patterns.json.

PEFT decides (get_pattern_key: the first key in the config's order whose regex `(.*\\.)?(key)$`
matches the module name); lora-edge's src/adapters/peft-config.ts must give the same numbers
(src/adapters/peft-patterns.test.ts). The ranks and alphas are read from the LoRA layers PEFT builds on
a tiny Llama, not recomputed.

    python training/make_pattern_golden.py                  # writes test/fixtures/peft-patterns.json
    python training/make_pattern_golden.py --out /tmp/p.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "test" / "fixtures" / "peft-patterns.json"
ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LAYERS = 3
Q1 = "model.layers.1.self_attn.q_proj"

# (name, rank_pattern, alpha_pattern): each pattern's keys overlap on some modules
CASES: list[tuple[str, dict[str, int], dict[str, float]]] = [
    ("general key first", {"q_proj": 4, "layers.1.self_attn.q_proj": 2}, {"q_proj": 8, "layers.1.self_attn.q_proj": 3}),
    ("specific key first", {"layers.1.self_attn.q_proj": 2, "q_proj": 4}, {"layers.1.self_attn.q_proj": 3, "q_proj": 8}),
    ("exact full name after a broader key", {"q_proj": 4, Q1: 2}, {"self_attn.q_proj": 6, Q1: 1}),
    ("exact full name first", {Q1: 2, "q_proj": 4}, {Q1: 1, "self_attn.q_proj": 6}),
    ("regex before plain keys", {r"layers\.[0-1]\.self_attn\.(q|k)_proj": 6, "q_proj": 4, Q1: 2}, {r".*\.(q|v)_proj": 5, "v_proj": 7}),
    ("plain keys before a regex", {"mlp.down_proj": 3, r".*_proj": 5}, {"v_proj": 7, r".*\.(q|v)_proj": 5}),
    ("catch-all regex first", {r".*_proj": 5, "mlp.down_proj": 3}, {r".*": 2, "down_proj": 9}),
    ("rank and alpha in opposite orders", {"mlp.up_proj": 2, r"layers\.2\..*": 6}, {r"layers\.2\..*": 12, "mlp.up_proj": 3}),
    ("alternation key and group key", {"(gate|up)_proj": 3, "up_proj": 5}, {"up_proj": 4, "(gate|up)_proj": 11}),
]


def peft_ranks(rank_pattern: dict[str, int], alpha_pattern: dict[str, float]) -> dict[str, dict[str, float]]:
    import torch
    from peft import LoraConfig, get_peft_model
    from peft.tuners.lora import LoraLayer
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=LAYERS, num_attention_heads=2, num_key_value_heads=1)
    )
    config = LoraConfig(r=8, lora_alpha=16, target_modules=ALL_PROJECTIONS, rank_pattern=rank_pattern, alpha_pattern=alpha_pattern)
    peft_model = get_peft_model(model, config)
    out: dict[str, dict[str, float]] = {}
    for name, module in peft_model.base_model.model.named_modules():
        if isinstance(module, LoraLayer) and "default" in module.r:
            out[name] = {"rank": module.r["default"], "alpha": module.lora_alpha["default"], "scaling": module.scaling["default"]}
    return out


def build() -> dict:
    import peft

    return {
        "peft_version": peft.__version__,
        "base": {"r": 8, "lora_alpha": 16, "target_modules": ALL_PROJECTIONS, "num_hidden_layers": LAYERS},
        "cases": [
            {"name": name, "rank_pattern": rp, "alpha_pattern": ap, "modules": peft_ranks(rp, ap)} for name, rp, ap in CASES
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"make_pattern_golden: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
