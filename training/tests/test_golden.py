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


# golden.json fields computed by torch's float kernels (rounded to 6 digits): they may differ in
# the last digit between machines of the same kind (0.004893 vs 0.004894 seen on a fresh clone).
FLOAT_FIELDS = {"greedy_min_margin", "max_rel_l2_vs_base"}
FLOAT_TOLERANCE = 1e-5  # absolute, and relative to the value: ten units of the last written digit


def golden_json_differences(ours, committed, path: str = "", in_float_field: bool = False) -> list[str]:
    """Where two golden.json values differ: float-derived fields within FLOAT_TOLERANCE, the rest exactly."""
    if isinstance(committed, dict):
        if not isinstance(ours, dict) or ours.keys() != committed.keys():
            return [f"{path or '(root)'}: keys {sorted(ours) if isinstance(ours, dict) else ours!r} != {sorted(committed)}"]
        return [d for k in committed for d in golden_json_differences(ours[k], committed[k], f"{path}.{k}", in_float_field or k in FLOAT_FIELDS)]
    if isinstance(committed, list):
        if not isinstance(ours, list) or len(ours) != len(committed):
            return [f"{path}: {ours!r} != {committed!r}"]
        return [d for i, (a, b) in enumerate(zip(ours, committed)) for d in golden_json_differences(a, b, f"{path}[{i}]", in_float_field)]
    if in_float_field and isinstance(committed, float) and isinstance(ours, (int, float)) and not isinstance(ours, bool):
        ok = abs(ours - committed) <= FLOAT_TOLERANCE * max(1.0, abs(committed))
        return [] if ok else [f"{path}: {ours} vs {committed} (beyond {FLOAT_TOLERANCE})"]
    return [] if type(ours) is type(committed) and ours == committed else [f"{path}: {ours!r} != {committed!r}"]


def test_weights_adapters_and_tokenizer_are_byte_identical(regenerated):
    # Random draws and safetensors/JSON writing are deterministic on every CPU; only float kernels
    # (the logits, and golden.json's float-derived fields) may differ in the last bits between machines.
    for rel in files(GOLDEN):
        if rel.endswith("golden.safetensors"):
            continue
        if rel.endswith("golden.json"):
            diffs = golden_json_differences(json.loads((regenerated / rel).read_text()), json.loads((GOLDEN / rel).read_text()))
            assert not diffs, (rel, diffs)
            continue
        assert (regenerated / rel).read_bytes() == (GOLDEN / rel).read_bytes(), rel


def test_golden_json_compares_float_fields_with_a_tolerance_and_the_rest_exactly():
    committed = {"variants": {"lora": {"greedy": [[5, 7]], "greedy_min_margin": [0.004893], "max_rel_l2_vs_base": 0.552367, "notes": "x"}}}
    last_digit = {"variants": {"lora": {"greedy": [[5, 7]], "greedy_min_margin": [0.004894], "max_rel_l2_vs_base": 0.552368, "notes": "x"}}}
    assert golden_json_differences(last_digit, committed) == []
    for broken in (
        {"variants": {"lora": {**last_digit["variants"]["lora"], "greedy": [[5, 8]]}}},  # a token: exact
        {"variants": {"lora": {**last_digit["variants"]["lora"], "greedy_min_margin": [0.0051]}}},  # beyond the tolerance
        {"variants": {"lora": {**last_digit["variants"]["lora"], "notes": "y"}}},
        {"variants": {"lora": {k: v for k, v in last_digit["variants"]["lora"].items() if k != "notes"}}},
    ):
        assert golden_json_differences(broken, committed) != []


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
