#!/usr/bin/env python3
"""A tiny random Llama 3.x-style checkpoint and its transformers logits: the `--from-hf` fixture for
Llama 3 RoPE scaling and for transformers 5's `chat_template.jinja`.

The model has `rope_parameters: {rope_type: "llama3", factor 8, low/high_freq_factor 1/4,
original_max_position_embeddings 16}` and head_dim 16, so its rotary frequencies fall in all three
bands (kept, blended, slowed), and the golden sequence runs to position 47, past the original
context. It is saved with plain `save_pretrained` (model and tokenizer), which writes the chat
template to chat_template.jinja, not tokenizer_config.json.

    python training/make_llama3_golden.py                      # writes test/fixtures/llama3/
    python training/make_llama3_golden.py --out /tmp/llama3    # somewhere else (the tests do this)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "test" / "fixtures" / "llama3"
SEQUENCE_LENGTH = 48


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)

    import numpy as np
    import torch
    from transformers import LlamaForCausalLM

    from tiny_model import TOKENIZER_VOCAB_SIZE, build_tokenizer, llama_config

    config = llama_config(TOKENIZER_VOCAB_SIZE)
    config.max_position_embeddings = 64
    config.rope_parameters = {
        "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 16,
    }
    config._attn_implementation = "eager"
    torch.manual_seed(3)
    model = LlamaForCausalLM(config).eval()
    tokenizer = build_tokenizer()

    model_dir = args.out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    assert (model_dir / "chat_template.jinja").is_file(), "transformers did not write chat_template.jinja"
    assert "chat_template" not in json.loads((model_dir / "tokenizer_config.json").read_text())

    ids = [int(i) for i in torch.randint(3, TOKENIZER_VOCAB_SIZE, (SEQUENCE_LENGTH,), generator=torch.Generator().manual_seed(4))]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float().numpy()  # [S, vocab]
    golden = {
        "ids": ids,
        "logits_f32_base64": base64.b64encode(np.ascontiguousarray(logits, dtype=np.float32).tobytes()).decode(),
        "chat": tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True),
    }
    (args.out / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
