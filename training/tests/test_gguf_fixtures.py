"""The committed GGUF reader fixture is exactly what make_gguf_fixtures.py produces."""

from __future__ import annotations

from conftest import REPO

import make_gguf_fixtures

FIXTURE = REPO / "test" / "fixtures" / "gguf"


def test_fixture_regenerates_byte_for_byte(tmp_path):
    assert make_gguf_fixtures.main(["--out", str(tmp_path)]) == 0
    for name in ("tiny.gguf", "golden.json"):
        assert (tmp_path / name).read_bytes() == (FIXTURE / name).read_bytes(), name
