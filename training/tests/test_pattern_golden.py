"""The committed rank/alpha pattern fixture is exactly what PEFT decides today."""

from __future__ import annotations

import json

from conftest import REPO

import make_pattern_golden


def test_fixture_is_pefts_own_answer(tmp_path):
    out = tmp_path / "peft-patterns.json"
    assert make_pattern_golden.main(["--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads((REPO / "test" / "fixtures" / "peft-patterns.json").read_text())


def test_first_matching_key_in_config_order_wins():
    # the case where "most specific wins" and PEFT disagree: an exact full name listed after a broader key
    modules = make_pattern_golden.peft_ranks({"q_proj": 4, make_pattern_golden.Q1: 2}, {})
    assert modules[make_pattern_golden.Q1]["rank"] == 4
