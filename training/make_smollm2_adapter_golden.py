#!/usr/bin/env python3
"""Golden logits of the shipped SmolLM2 domain adapters, computed by transformers + PEFT.

For each adapter folder in `--adapters` (default models/adapters/smollm2/<domain>/, what `npm start`
seeds), PEFT loads it on the base it was trained on (`base_model_name_or_path`, fp32; for the GGUF
wheel spec the same float32 checkpoint training used, `base_model.resolve`) and records float32
logits at the last position of a few chat prompts: the first held-out question of each domain
(data/chat/heldout/<domain>.jsonl), one user message, as the API sends it. The TypeScript side
(test/unit/smollm2-adapters.test.ts) loads each adapter through the upload validation, serves it on
lora-edge's fp32 SmolLM2 package and compares (relative L2 ≤ 1e-4).

The fixture records each adapter's sha256, so a retrained adapter makes the test fail with the
command to run (this one) instead of comparing against stale values:

    .venv/bin/python training/make_smollm2_adapter_golden.py      # or $LORA_EDGE_VENV/bin/python

Writes test/fixtures/smollm2-adapters/golden.json (prompts, token ids, adapter hashes) and
golden.safetensors (one `[prompts, vocab]` float32 tensor per domain).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ADAPTERS = REPO / "models" / "adapters" / "smollm2"
DEFAULT_OUT = REPO / "test" / "fixtures" / "smollm2-adapters"
HELDOUT = REPO / "data" / "chat" / "heldout"
COMMAND = "python training/make_smollm2_adapter_golden.py"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--adapters", type=Path, default=DEFAULT_ADAPTERS, help="folder with one PEFT folder per domain (default: %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture folder (default: %(default)s)")
    args = p.parse_args(argv)
    domains = sorted(d.name for d in args.adapters.iterdir() if (d / "adapter_model.safetensors").is_file())
    if not domains:
        print(f"make_smollm2_adapter_golden: no PEFT adapter folders in {args.adapters}", file=sys.stderr)
        return 1
    configs = {d: json.loads((args.adapters / d / "adapter_config.json").read_text()) for d in domains}
    bases = {c["base_model_name_or_path"] for c in configs.values()}
    if len(bases) != 1:
        print(f"make_smollm2_adapter_golden: the adapters name different bases: {sorted(bases)}", file=sys.stderr)
        return 1
    spec = bases.pop()

    import torch
    import transformers
    import peft
    from peft import PeftModel
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import base_model
    from hf_compat import dtype_kwarg

    transformers.logging.set_verbosity_error()
    path = base_model.resolve(spec)
    tok = AutoTokenizer.from_pretrained(path)
    prompts = []
    for d in sorted(f.stem for f in HELDOUT.glob("*.jsonl")):
        first = json.loads(HELDOUT.joinpath(f"{d}.jsonl").read_text().splitlines()[0])
        messages = [{"role": "user", "content": first["question"]}]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompts.append({"domain": d, "messages": messages, "text": text, "ids": tok.encode(text, add_special_tokens=False)})

    tensors = {}
    with torch.no_grad():
        for d in domains:
            base = AutoModelForCausalLM.from_pretrained(path, **dtype_kwarg(torch.float32))
            model = PeftModel.from_pretrained(base, str(args.adapters / d)).eval()
            tensors[d] = torch.stack([model(torch.tensor([pr["ids"]])).logits[0, -1].float() for pr in prompts]).contiguous()
            print(f"make_smollm2_adapter_golden: {d}: {len(prompts)} prompts", file=sys.stderr)

    args.out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out / "golden.safetensors"), metadata={"format": "pt"})
    golden = {
        "command": COMMAND,
        "base_model": spec,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
        "adapters": {d: {"path": str((args.adapters / d).resolve().relative_to(REPO)) if (args.adapters / d).resolve().is_relative_to(REPO) else str(args.adapters / d),
                         "adapter_model_sha256": sha256(args.adapters / d / "adapter_model.safetensors"),
                         "adapter_config_sha256": sha256(args.adapters / d / "adapter_config.json")} for d in domains},
        "prompts": prompts,
    }
    (args.out / "golden.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n")
    print(f"make_smollm2_adapter_golden: wrote {args.out} ({len(domains)} adapters × {len(prompts)} prompts)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
