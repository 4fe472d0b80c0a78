"""Shared fixtures: a tiny random Llama with the ChatML tokenizer and small chat files, all local."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parent.parent
REPO = TRAINING.parent
sys.path.insert(0, str(TRAINING))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # CI has no hub: any accidental download must fail fast


@pytest.fixture(scope="session")
def tokenizer():
    from tiny_model import build_tokenizer

    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    """A 2-layer, hidden-32 Llama saved as a Hugging Face checkpoint."""
    from hf_compat import save_model_safetensors, save_tokenizer
    from tiny_model import build_model

    out = tmp_path_factory.mktemp("tiny-llama")
    model = build_model("llama", len(tokenizer), seed=0, hidden=32, layers=2, intermediate=64)
    save_model_safetensors(model, str(out))
    save_tokenizer(tokenizer, str(out))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def chat_files(tmp_path_factory) -> dict[str, Path]:
    """24 train and 8 eval conversations per domain, taken from the committed demo data."""
    out = tmp_path_factory.mktemp("chat")
    files = {}
    for domain in ("support", "sales", "technical"):
        for split, n in (("train", 24), ("eval", 8)):
            lines = (REPO / "data" / "chat" / f"{domain}.{split}.jsonl").read_text().splitlines()[:n]
            files[f"{domain}.{split}"] = write_jsonl(out / f"{domain}.{split}.jsonl", [json.loads(l) for l in lines])
    return files
