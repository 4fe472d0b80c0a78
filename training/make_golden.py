#!/usr/bin/env python3
"""Build the golden parity fixtures: tiny seeded models, PEFT adapters, and PEFT's own fp32 logits.

lora-edge must reproduce these numbers (relative L2 error 1e-4, same greedy tokens); see
test/fixtures/golden/README.md for the layout. Deterministic: re-running writes the same weights and
adapters byte for byte, and the same logits up to the last bits of the CPU's float kernels.

    python training/make_golden.py                      # writes test/fixtures/golden/
    python training/make_golden.py --out /tmp/golden    # somewhere else (the tests do this)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "test" / "fixtures" / "golden"
MAX_NEW_TOKENS = 16
SIZE_LIMIT_BYTES = 3 * 1024 * 1024
ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass(frozen=True)
class GoldenModel:
    arch: str  # "llama" | "qwen2"
    seed: int
    saved_dtype: str  # dtype of model.safetensors: both paths of the model builder get exercised
    half_adapter_dtype: str  # dtype the `rslora` adapter is saved in (the others stay float32)


@dataclass(frozen=True)
class GoldenAdapter:
    name: str
    config: dict[str, Any]
    b_std: float = 0.05  # lora_B init noise: PEFT's default zero B would make every adapter a no-op
    magnitude_noise: float = 0.0  # DoRA: relative perturbation of the magnitude vector
    dtype: str = "float32"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


MODELS = [
    GoldenModel(arch="llama", seed=1, saved_dtype="bfloat16", half_adapter_dtype="float16"),
    GoldenModel(arch="qwen2", seed=2, saved_dtype="float32", half_adapter_dtype="bfloat16"),
]


def adapters_for(model: GoldenModel) -> list[GoldenAdapter]:
    """The adapter set every golden model gets; each one pins down one PEFT feature."""
    return [
        GoldenAdapter(
            "lora",
            dict(r=8, lora_alpha=16, target_modules=ALL_PROJECTIONS),
            notes="plain LoRA on all seven projections, scale alpha/r = 2",
        ),
        GoldenAdapter(
            "rslora",
            dict(r=8, lora_alpha=8, target_modules=ALL_PROJECTIONS, use_rslora=True),
            dtype=model.half_adapter_dtype,
            notes=f"rsLoRA, scale alpha/sqrt(r) = 8/sqrt(8); saved in {model.half_adapter_dtype}",
        ),
        GoldenAdapter(
            "pattern",
            dict(
                r=8,
                lora_alpha=16,
                # A regex string (not a list) is matched against the full module name; it selects
                # layer 1 only and five of the seven projections.
                target_modules=r".*\.layers\.1\.(self_attn\.(q_proj|v_proj|o_proj)|mlp\.(gate_proj|down_proj))",
                rank_pattern={"q_proj": 4, "down_proj": 12},
                alpha_pattern={"v_proj": 32, "down_proj": 6},
            ),
            notes="regex target_modules (layer 1 only), per-module rank_pattern and alpha_pattern",
        ),
        GoldenAdapter(
            "layers",
            dict(
                r=6,
                lora_alpha=12,
                target_modules=ALL_PROJECTIONS,
                layers_to_transform=[1],
                layers_pattern="layers",
                rank_pattern={"up_proj": 2},
            ),
            notes="layers_to_transform=[1] with a list of targets (PEFT forbids it with a regex string)",
        ),
        GoldenAdapter(
            "dora",
            dict(r=8, lora_alpha=16, target_modules=ALL_PROJECTIONS, use_dora=True),
            magnitude_noise=0.2,
            notes="DoRA with a perturbed magnitude vector (PEFT initialises it to the weight norms)",
        ),
    ]


def token_sequences(tokenizer) -> list[list[int]]:
    """Three prompts, 5-12 tokens: plain text, a ChatML generation prompt, and raw ids across the vocab."""
    text = tokenizer("Where is my order?", add_special_tokens=False)["input_ids"]
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=True
    )
    if isinstance(chat, dict) or hasattr(chat, "keys"):  # transformers 5 may return a BatchEncoding
        chat = chat["input_ids"]
    raw = [5, 311, 77, 200, 2, 150, 19]
    seqs = [list(text), list(chat), raw]
    for s in seqs:
        if not 5 <= len(s) <= 12:
            raise SystemExit(f"make_golden: golden sequence {s} has length {len(s)}, want 5-12")
    return seqs


def dtype_of(name: str):
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def load_base(model_dir: Path):
    """The base model exactly as saved, upcast to float32 (bf16 weights keep their rounded values)."""
    import torch
    from transformers import AutoModelForCausalLM

    from hf_compat import dtype_kwarg

    model = AutoModelForCausalLM.from_pretrained(
        model_dir, attn_implementation="eager", **dtype_kwarg(torch.float32)
    )
    return model.eval()


def build_adapter(model_dir: Path, spec: GoldenAdapter, seed: int, out_dir: Path) -> None:
    """Attach `spec` to a fresh copy of the saved base, randomise it with `seed`, save_pretrained."""
    import torch
    from peft import LoraConfig, get_peft_model

    base = load_base(model_dir)
    config = LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, **spec.config)
    peft_model = get_peft_model(base, config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(peft_model.named_parameters()):
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * spec.b_std)
            elif "lora_A" in name:
                # PEFT's kaiming init draws from the global RNG; redraw from ours so the bytes
                # depend only on `seed`.
                bound = 1.0 / param.shape[1] ** 0.5
                param.copy_((torch.rand(param.shape, generator=gen) * 2 - 1) * bound)
            elif "lora_magnitude_vector" in name and spec.magnitude_noise:
                param.mul_(1 + spec.magnitude_noise * torch.randn(param.shape, generator=gen))
        if spec.dtype != "float32":
            for name, param in peft_model.named_parameters():
                if "lora_" in name:
                    param.data = param.data.to(dtype_of(spec.dtype))
    peft_model.save_pretrained(str(out_dir))
    make_reproducible(out_dir, base_name=f"lora-edge-golden/{model_dir.parent.name}")


def make_reproducible(adapter_dir: Path, base_name: str) -> None:
    """Strip what varies between runs from what PEFT wrote, leaving the adapter's meaning intact.

    adapter_config.json: PEFT stores target_modules from a Python set (order changes with the string
    hash seed) and the base's absolute load path (changes with --out). README.md: PEFT's generated
    model card, boilerplate that is no part of the adapter format.
    """
    config_path = adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    config["base_model_name_or_path"] = base_name
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True))
    (adapter_dir / "README.md").unlink(missing_ok=True)


def greedy(model, ids: list[int]) -> tuple[list[int], float]:
    """16 greedy tokens via generate() (KV cache), cross-checked against argmax of full recomputes
    (no cache); returns the tokens and the smallest top-1/top-2 logit gap on the way."""
    import torch
    from transformers import GenerationConfig

    x = torch.tensor([ids])
    gen_config = GenerationConfig(
        do_sample=False, max_new_tokens=MAX_NEW_TOKENS, min_new_tokens=0, pad_token_id=0
    )
    # EOS must not end the continuation early: the parity test compares exactly 16 tokens.
    gen_config.eos_token_id = None
    with torch.no_grad():
        out = model.generate(x, attention_mask=torch.ones_like(x), generation_config=gen_config)
    tokens = out[0, len(ids):].tolist()
    seq, margin = list(ids), float("inf")
    with torch.no_grad():
        for _ in range(MAX_NEW_TOKENS):
            logits = model(torch.tensor([seq])).logits[0, -1].float()
            top = torch.topk(logits, 2).values
            margin = min(margin, float(top[0] - top[1]))
            seq.append(int(logits.argmax()))
    if tokens != seq[len(ids):]:
        raise SystemExit(f"make_golden: generate() and uncached greedy disagree: {tokens} vs {seq[len(ids):]}")
    return tokens, margin


def evaluate(model, seqs: list[list[int]], variant: str, tensors: dict) -> dict[str, Any]:
    """Record fp32 logits [seq, vocab] into `tensors` and greedy continuations into the result."""
    import torch

    keys, continuations, margins = [], [], []
    for i, ids in enumerate(seqs):
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().contiguous()
        key = f"logits.{variant}.{i}"
        tensors[key] = logits
        keys.append(key)
        tokens, margin = greedy(model, ids)
        continuations.append(tokens)
        margins.append(round(margin, 6))
    return {"logits": keys, "greedy": continuations, "greedy_min_margin": margins}


def rel_l2(a, b) -> float:
    return float((a - b).norm() / b.norm())


def make_model(spec: GoldenModel, tokenizer, out: Path, progress) -> None:
    import torch
    from peft import PeftModel
    from safetensors.torch import save_file

    from hf_compat import save_model_safetensors, save_tokenizer
    from tiny_model import build_model

    model_dir = out / spec.arch / "model"
    model = build_model(spec.arch, len(tokenizer), seed=spec.seed)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(dtype_of(spec.saved_dtype))
    save_model_safetensors(model, str(model_dir))
    save_tokenizer(tokenizer, str(model_dir))

    seqs = token_sequences(tokenizer)
    tensors: dict[str, torch.Tensor] = {}
    base = load_base(model_dir)
    variants: dict[str, Any] = {"base": {"adapter": None, **evaluate(base, seqs, "base", tensors)}}
    progress(f"{spec.arch}: base")

    for idx, adapter in enumerate(adapters_for(spec)):
        adapter_dir = out / spec.arch / "adapters" / adapter.name
        build_adapter(model_dir, adapter, seed=1000 * spec.seed + idx, out_dir=adapter_dir)
        peft_model = PeftModel.from_pretrained(load_base(model_dir), str(adapter_dir)).eval()
        result = evaluate(peft_model, seqs, adapter.name, tensors)
        delta = max(
            rel_l2(tensors[f"logits.base.{i}"], tensors[f"logits.{adapter.name}.{i}"]) for i in range(len(seqs))
        )
        variants[adapter.name] = {
            "adapter": f"adapters/{adapter.name}",
            "saved_dtype": adapter.dtype,
            "notes": adapter.notes,
            "max_rel_l2_vs_base": round(delta, 6),
            **result,
        }
        progress(f"{spec.arch}: {adapter.name}")

    save_file(tensors, str(out / spec.arch / "golden.safetensors"), metadata={"format": "lora-edge-golden-1"})
    import peft
    import transformers

    golden = {
        "format": 1,
        "generator": "training/make_golden.py",
        "versions": {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__, "peft": peft.__version__},
        "arch": spec.arch,
        "model_dir": "model",
        "model_saved_dtype": spec.saved_dtype,
        "vocab_size": len(tokenizer),
        "max_new_tokens": MAX_NEW_TOKENS,
        "sequences": seqs,
        "logits_file": "golden.safetensors",
        "variants": variants,
    }
    (out / spec.arch / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--only", choices=[m.arch for m in MODELS], help="build just this model")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch

    torch.use_deterministic_algorithms(True)
    import transformers

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)  # deprecation chatter between PEFT and transformers
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(1)  # one thread: the same reduction order on every machine
    from tiny_model import build_tokenizer

    tokenizer = build_tokenizer()
    for spec in MODELS:
        if args.only and spec.arch != args.only:
            continue
        target = args.out / spec.arch
        if target.exists():
            shutil.rmtree(target)  # stale adapters from an older adapter list must not linger
        make_model(spec, tokenizer, args.out, lambda msg: print(f"make_golden: {msg}", file=sys.stderr, flush=True))

    size = folder_bytes(args.out)
    print(f"make_golden: wrote {args.out} ({size / 1024:.0f} KiB)", file=sys.stderr)
    if size > SIZE_LIMIT_BYTES:
        print(f"make_golden: {args.out} is {size} bytes, over the {SIZE_LIMIT_BYTES}-byte budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
