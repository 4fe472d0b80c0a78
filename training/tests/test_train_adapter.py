"""train_adapter.py: training lowers the loss, the output is a PEFT adapter lora-edge accepts, and
bad arguments fail with one clear line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import TRAINING

import train_adapter

FAST = ["--batch-size", "4", "--max-seq-len", "256", "--device", "cpu", "--no-progress", "--seed", "0"]
KEY = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+_proj)\.(lora_A\.weight|lora_B\.weight|lora_magnitude_vector)$")


def train(tmp_path, tiny_model_dir, chat_files, *extra: str) -> dict:
    out = tmp_path / "adapter"
    args = ["--model", str(tiny_model_dir), "--data", str(chat_files["support.train"]), "--out", str(out), *FAST, *extra]
    metrics = train_adapter.run(train_adapter.parse(args))
    assert json.loads((out / "metrics.json").read_text()) == metrics
    return metrics


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir, chat_files):
    tmp = tmp_path_factory.mktemp("run")
    return tmp / "adapter", train(tmp, tiny_model_dir, chat_files, "--max-steps", "12", "--lr", "5e-3", "--r", "8", "--alpha", "16")


def test_a_few_steps_lower_train_and_eval_loss(trained):
    _, m = trained
    assert m["train_loss_last"] < m["train_loss_first"]
    assert m["eval_loss_after"] < m["eval_loss_before"]
    assert m["eval_perplexity_after"] < m["eval_perplexity_before"]
    assert m["tokens_per_second"] > 0 and m["train_seconds"] > 0 and m["wall_seconds"] >= m["train_seconds"]
    assert len(m["train_loss_history"]) == 12 and m["eval_loss_history"][-1][0] == 12
    # The eval split defaults to the .eval. file beside the .train. file.
    assert m["data"]["eval"].endswith("support.eval.jsonl") and m["data"]["eval_conversations"] == 8


def test_saved_adapter_has_the_keys_and_config_lora_edge_expects(trained, tiny_model_dir):
    from safetensors import safe_open

    out, _ = trained
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["task_type"] == "CAUSAL_LM"
    assert config["r"] == 8 and config["lora_alpha"] == 16
    assert sorted(config["target_modules"]) == sorted(train_adapter.DEFAULT_TARGETS.split(","))
    assert not config["use_dora"] and not config["use_rslora"] and not config.get("modules_to_save")
    with safe_open(str(out / "adapter_model.safetensors"), "pt") as f:
        keys = sorted(f.keys())
        shapes = {k: tuple(f.get_tensor(k).shape) for k in keys}
    assert len(keys) == 2 * 7 * 2  # layers x projections x (A, B)
    dims = {"q_proj": (32, 32), "k_proj": (32, 16), "v_proj": (32, 16), "o_proj": (32, 32),
            "gate_proj": (32, 64), "up_proj": (32, 64), "down_proj": (64, 32)}  # (in, out); GQA halves k/v
    for key in keys:
        match = KEY.match(key)
        assert match, key
        d_in, d_out = dims[match.group(3)]
        assert shapes[key] == ((8, d_in) if "lora_A" in key else (d_out, 8)), key
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in keys


def test_saved_adapter_loads_back_with_peft_and_changes_the_output(trained, tiny_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out, _ = trained
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    ids = torch.tensor([[1, 281, 201, 42, 75, 2]])
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, str(out)).eval()
        after = tuned(ids).logits
    assert not torch.allclose(before, after)  # trained B is non-zero


def test_dora_and_rslora_flags_reach_the_saved_config(tmp_path, tiny_model_dir, chat_files):
    from safetensors import safe_open

    m = train(tmp_path, tiny_model_dir, chat_files, "--max-steps", "2", "--dora", "--rslora", "--targets", "q_proj,v_proj", "--r", "4")
    out = tmp_path / "adapter"
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["use_dora"] and config["use_rslora"] and sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    with safe_open(str(out / "adapter_model.safetensors"), "pt") as f:
        magnitudes = [k for k in f.keys() if k.endswith("lora_magnitude_vector")]
    assert len(magnitudes) == 4 and all(KEY.match(k) for k in magnitudes)
    assert m["lora"]["dora"] and m["lora"]["rslora"]


def test_grad_accum_and_epochs_set_the_step_count(tmp_path, tiny_model_dir, chat_files):
    m = train(tmp_path, tiny_model_dir, chat_files, "--epochs", "1", "--grad-accum", "2", "--eval-every", "1")
    assert m["training"]["steps"] == 3  # 24 conversations / (4 x 2)
    assert [s for s, _ in m["eval_loss_history"]] == [1, 2, 3]


def test_layers_threads_and_save_dtype_shape_the_saved_adapter(tmp_path, tiny_model_dir, chat_files):
    from safetensors import safe_open

    m = train(tmp_path, tiny_model_dir, chat_files, "--max-steps", "2", "--layers", "1", "--threads", "1",
              "--save-dtype", "bfloat16", "--targets", "q_proj,down_proj", "--r", "4")
    out = tmp_path / "adapter"
    assert json.loads((out / "adapter_config.json").read_text())["layers_to_transform"] == [1]
    with safe_open(str(out / "adapter_model.safetensors"), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert {KEY.match(k).group(1) for k in tensors} == {"1"} and len(tensors) == 2 * 2
    assert {str(t.dtype) for t in tensors.values()} == {"torch.bfloat16"}
    assert m["lora"]["layers"] == [1] and m["training"]["threads"] == 1 and m["training"]["save_dtype"] == "bfloat16"


def test_parse_layers_accepts_ranges_lists_and_mixes():
    assert train_adapter.parse_layers("20-23") == [20, 21, 22, 23]
    assert train_adapter.parse_layers("0,5, 9") == [0, 5, 9]
    assert train_adapter.parse_layers("0-1,28,29") == [0, 1, 28, 29]


def test_loss_on_trained_positions_equals_cross_entropy_over_full_logits(tiny_model_dir, tokenizer, chat_files):
    """The head-on-trained-rows path against an independent oracle: float64 cross-entropy of the
    full logits, through a random (non-zero) adapter, on a right-padded batch."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from chat_data import IGNORE_INDEX, collate, encode_all, load_conversations

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules=["q_proj", "down_proj"], init_lora_weights=False)).eval()
    examples, _ = encode_all(tokenizer, load_conversations(chat_files["sales.train"])[:5], 256)
    batch = collate(examples, tokenizer.pad_token_id)
    with torch.no_grad():
        loss_sum, n = train_adapter.token_loss_sums(model, batch, torch.device("cpu"), None)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].double()
    labels = batch["labels"][:, 1:]
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                                                 ignore_index=IGNORE_INDEX, reduction="sum")
    assert n == int((labels != IGNORE_INDEX).sum()) > 0
    assert abs(float(loss_sum) - float(expected)) <= 1e-5 * float(expected)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TRAINING / "train_adapter.py"), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--r", "0"], "--r must be > 0, got 0"),
        (["--alpha", "-1"], "--alpha must be > 0"),
        (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["--lr", "0"], "--lr must be > 0"),
        (["--batch-size", "0"], "--batch-size must be > 0"),
        (["--max-steps", "-3"], "--max-steps must be > 0"),
        (["--device", "tpu"], "--device must be auto, cpu, cuda or cuda:N"),
        (["--r", "four"], "argument --r: invalid int value"),
        (["--layers", "5-2"], "--layers: expected indices like 20-29 or 0,5,9, got '5-2'"),
        (["--layers", "a"], "--layers: expected indices"),
        (["--threads", "0"], "--threads must be > 0"),
        (["--save-dtype", "int8"], "argument --save-dtype: invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(chat_files, tmp_path, extra, message):
    result = run_cli("--model", "unused", "--data", str(chat_files["support.train"]), "--out", str(tmp_path / "o"), *extra)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("train_adapter: error: ")
    assert message in result.stderr


def test_missing_data_file_is_one_line(tmp_path):
    result = run_cli("--model", "unused", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert result.stderr == f"train_adapter: error: --data: no such file: {tmp_path / 'missing.jsonl'}\n"


def test_missing_required_argument(tmp_path):
    result = run_cli("--data", "x.jsonl")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--model" in result.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--targets", "q_proj,c_attn"], "--targets: c_attn not in this model (its linear layers: down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj)"),
        (["--bf16"], "--bf16 needs a CUDA device"),
        (["--layers", "1-2"], "--layers: this model has layers 0-1, got 1-2"),
        (["--model", "wheel:nothing-here"], "--model: wheel:nothing-here: expected wheel:<requirement>/<path of a .gguf inside the wheel>"),
    ],
)
def test_errors_that_need_the_model_are_one_line_too(tmp_path, tiny_model_dir, chat_files, capsys, extra, message):
    args = ["--model", str(tiny_model_dir), "--data", str(chat_files["sales.train"]), "--out", str(tmp_path / "o"), *FAST, *extra]
    assert train_adapter.main(args) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith(f"train_adapter: error: {message}")
    assert not (tmp_path / "o").exists()


def test_bad_data_line_is_reported(tmp_path, tiny_model_dir, capsys):
    data = tmp_path / "x.train.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n{"messages": 3}\n')
    assert train_adapter.main(["--model", str(tiny_model_dir), "--data", str(data), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert f"{data}:2: expected an object with a non-empty 'messages' list" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["train_adapter.py", "train_all.py", "make_golden.py", "make_chat_data.py", "tiny_model.py",
                                    "eval_domains.py", "bench_train_settings.py"])
def test_every_script_has_help(script):
    result = subprocess.run([sys.executable, str(TRAINING / script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage:" in result.stdout
