"""The committed golden fixtures are exactly what make_golden.py produces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO

import make_golden

GOLDEN = REPO / "test" / "fixtures" / "golden"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden")
    assert make_golden.main(["--out", str(out)]) == 0
    return out


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "README.md")


def test_same_files(regenerated):
    assert files(regenerated) == files(GOLDEN)


def test_weights_adapters_and_tokenizer_are_byte_identical(regenerated):
    # Random draws and safetensors/JSON writing are deterministic on every CPU; only float kernels
    # (the logits) may differ in the last bits between machines.
    for rel in files(GOLDEN):
        if rel.endswith("golden.safetensors"):
            continue
        assert (regenerated / rel).read_bytes() == (GOLDEN / rel).read_bytes(), rel


def test_logits_match_the_committed_ones(regenerated):
    import torch
    from safetensors.torch import load_file

    for arch in ("llama", "qwen2"):
        ours = load_file(str(regenerated / arch / "golden.safetensors"))
        committed = load_file(str(GOLDEN / arch / "golden.safetensors"))
        assert ours.keys() == committed.keys()
        for key in committed:
            rel = float((ours[key] - committed[key]).norm() / committed[key].norm())
            assert rel < 1e-6, (arch, key, rel)


def test_golden_json_describes_every_variant():
    from safetensors import safe_open

    for arch in ("llama", "qwen2"):
        golden = json.loads((GOLDEN / arch / "golden.json").read_text())
        assert len(golden["sequences"]) == 3 and all(5 <= len(s) <= 12 for s in golden["sequences"])
        assert set(golden["variants"]) == {"base", "lora", "rslora", "pattern", "layers", "dora"}
        with safe_open(str(GOLDEN / arch / golden["logits_file"]), "pt") as f:
            for name, v in golden["variants"].items():
                assert [len(g) for g in v["greedy"]] == [16, 16, 16]
                for key, seq in zip(v["logits"], golden["sequences"]):
                    assert tuple(f.get_tensor(key).shape) == (len(seq), golden["vocab_size"])
                if name != "base":
                    assert (GOLDEN / arch / v["adapter"] / "adapter_model.safetensors").is_file()
                    assert v["max_rel_l2_vs_base"] > 0.05  # non-zero B: every adapter changes the logits


def test_golden_folder_is_under_3_mb():
    size = sum(p.stat().st_size for p in GOLDEN.rglob("*") if p.is_file())
    assert size < 3 * 1024 * 1024
