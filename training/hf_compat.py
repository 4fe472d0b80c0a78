"""Small shims over transformers API differences between 4.4x and 5.x.

The pinned versions are 5.x, but the GPU machines we borrow come with whatever transformers they have
preinstalled and no network, so the scripts must run on both.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import torch
import transformers


def dtype_kwarg(dtype: torch.dtype) -> dict[str, Any]:
    """`from_pretrained` keyword for the weight dtype: `dtype=` in 5.x, `torch_dtype=` before."""
    params = inspect.signature(transformers.PreTrainedModel.from_pretrained).parameters
    major = int(transformers.__version__.split(".")[0])
    return {"dtype": dtype} if major >= 5 or "dtype" in params else {"torch_dtype": dtype}


def save_model_safetensors(model: transformers.PreTrainedModel, path: str) -> None:
    """`save_pretrained` as safetensors; 5.x always writes safetensors and dropped the flag."""
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        model.save_pretrained(path, safe_serialization=True)
    else:
        model.save_pretrained(path)


def save_tokenizer(tokenizer: Any, path: str) -> None:
    """Save a fast tokenizer so that transformers 4.x, 5.x and transformers.js all load it.

    lora-edge's model package contract reads `chat_template` from tokenizer_config.json; 5.x writes it
    to a separate chat_template.jinja unless told not to, names the class `TokenizersBackend` (unknown
    to 4.x) and lists extra special tokens in a shape 4.x rejects, so the config is rewritten in the
    long-standing `PreTrainedTokenizerFast` form.
    """
    tokenizer.save_pretrained(path, save_jinja_files=False)
    config_path = Path(path) / "tokenizer_config.json"
    saved = json.loads(config_path.read_text())
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": tokenizer.chat_template,
        "bos_token": tokenizer.bos_token,
        "eos_token": tokenizer.eos_token,
        "pad_token": tokenizer.pad_token,
        "unk_token": tokenizer.unk_token,
        "additional_special_tokens": [t for t in tokenizer.all_special_tokens
                                      if t not in {tokenizer.bos_token, tokenizer.eos_token,
                                                   tokenizer.pad_token, tokenizer.unk_token}],
        "model_max_length": saved.get("model_max_length", tokenizer.model_max_length),
        "clean_up_tokenization_spaces": False,
    }
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
