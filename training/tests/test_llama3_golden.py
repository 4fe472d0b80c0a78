"""The committed Llama 3 fixture is what make_llama3_golden.py produces."""

from __future__ import annotations

import base64
import json

import numpy as np

from conftest import REPO

import make_llama3_golden

FIXTURE = REPO / "test" / "fixtures" / "llama3"


def test_fixture_regenerates(tmp_path):
    assert make_llama3_golden.main(["--out", str(tmp_path)]) == 0
    for rel in ("model/model.safetensors", "model/config.json", "model/chat_template.jinja", "model/tokenizer.json"):
        assert (tmp_path / rel).read_bytes() == (FIXTURE / rel).read_bytes(), rel
    got, want = (json.loads((d / "golden.json").read_text()) for d in (tmp_path, FIXTURE))
    assert got["ids"] == want["ids"] and got["chat"] == want["chat"]
    a, b = (np.frombuffer(base64.b64decode(g["logits_f32_base64"]), dtype=np.float32) for g in (got, want))
    # float kernels may differ in the last bits between machines
    assert np.linalg.norm(a - b) <= 1e-6 * np.linalg.norm(b)
