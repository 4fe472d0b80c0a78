#!/usr/bin/env python3
"""Build the GGUF reader's golden fixture: a small GGUF file and what the `gguf` package reads from it.

The file holds metadata of every value type (arrays of numbers and strings, a nested array, 64-bit
integers, a custom `general.alignment`) and one tensor per ggml type lora-edge dequantizes, filled with
random blocks (random bytes, with each block's f16 scale fields set to finite random values), plus a
Q2_K tensor the reader must refuse by name. `golden.json` holds the metadata and every tensor's
values as `gguf.quants.dequantize` computes them (float32, base64), the oracle for
src/builder/gguf-quants.test.ts.

    python training/make_gguf_fixtures.py                  # writes test/fixtures/gguf/
    python training/make_gguf_fixtures.py --out /tmp/gguf  # somewhere else (the tests do this)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter
from gguf.quants import dequantize

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "test" / "fixtures" / "gguf"
ALIGNMENT = 64

# block bytes, and byte offsets of the f16 fields (scales, mins) inside one block
BLOCKS: dict[Q, tuple[int, list[int]]] = {
    Q.Q4_0: (18, [0]),
    Q.Q4_1: (20, [0, 2]),
    Q.Q5_0: (22, [0]),
    Q.Q5_1: (24, [0, 2]),
    Q.Q8_0: (34, [0]),
    Q.Q4_K: (144, [0, 2]),
    Q.Q5_K: (176, [0, 2]),
    Q.Q6_K: (210, [208]),
    Q.Q2_K: (84, [80, 82]),  # refused by lora-edge; here to check the refusal names it
}


def random_blocks(rng: np.random.Generator, qtype: Q, rows: int, blocks_per_row: int) -> np.ndarray:
    size, half_fields = BLOCKS[qtype]
    raw = rng.integers(0, 256, size=(rows * blocks_per_row, size), dtype=np.uint8)
    for at in half_fields:
        halves = (rng.standard_normal(rows * blocks_per_row) * 0.05).astype(np.float16)
        raw[:, at : at + 2] = halves.view(np.uint8).reshape(-1, 2)
    return raw.reshape(rows, blocks_per_row * size)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def build(out: Path) -> None:
    rng = np.random.default_rng(11)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tiny.gguf"
    w = GGUFWriter(str(path), arch="llama")
    w.add_custom_alignment(ALIGNMENT)
    metadata = {
        "test.u8": ("uint8", 200), "test.i8": ("int8", -100), "test.u16": ("uint16", 60000),
        "test.i16": ("int16", -30000), "test.u32": ("uint32", 4_000_000_000), "test.i32": ("int32", -2_000_000_000),
        "test.f32": ("float32", 0.25), "test.bool": ("bool", True), "test.string": ("string", "héllo ✓"),
        "test.u64": ("uint64", 2**60 + 3), "test.i64": ("int64", -(2**60)), "test.f64": ("float64", 1 / 3),
    }
    for key, (kind, value) in metadata.items():
        getattr(w, f"add_{kind}")(key, value)
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_str", ["a", "", "ü"])
    w.add_array("test.array_nested", [[1, 2], [3]])

    tensors: dict[str, dict] = {}

    def add(name: str, data: np.ndarray, qtype: Q, dims: list[int]) -> None:
        w.add_tensor(name, data, raw_dtype=qtype)
        values = dequantize(data, qtype).astype(np.float32).reshape(-1)
        tensors[name] = {"type": qtype.name, "dims": dims, "values": b64(values)}

    # one row of 2 K-blocks, 3 rows of 2 32-blocks: enough to cross block and row boundaries
    for qtype in BLOCKS:
        per_block = 256 if qtype.name.endswith("_K") else 32
        rows, blocks_per_row = (2, 2) if per_block == 256 else (3, 2)
        add(f"t.{qtype.name.lower()}", random_blocks(rng, qtype, rows, blocks_per_row), qtype, [per_block * blocks_per_row, rows])
    add("t.f32", rng.standard_normal((3, 8)).astype(np.float32), Q.F32, [8, 3])
    add("t.f16", rng.standard_normal((3, 8)).astype(np.float16), Q.F16, [8, 3])
    bf16 = (rng.standard_normal((3, 8)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    add("t.bf16", bf16.view(np.uint8).reshape(3, 16), Q.BF16, [8, 3])

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    expected_meta = {k: v if not isinstance(v, int) or abs(v) < 2**53 else str(v) for k, (_, v) in metadata.items()}
    expected_meta.update({"test.array_i32": [1, -2, 3], "test.array_str": ["a", "", "ü"], "test.array_nested": [[1, 2], [3]]})
    golden = {"alignment": ALIGNMENT, "metadata": expected_meta, "tensors": tensors}
    (out / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    build(args.out)
    print(f"wrote {args.out}/tiny.gguf and golden.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
