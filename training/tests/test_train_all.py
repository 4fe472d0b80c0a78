"""train_all.py: one command trains every configured domain, then pushes with lora-edge if present."""

from __future__ import annotations

import json
import os
import stat

import pytest

import train_all


def write_config(tmp_path, tiny_model_dir, chat_files, fmt="toml") -> "os.PathLike":
    domains = {d: {"data": str(chat_files[f"{d}.train"]), "name": f"{d}-v1"} for d in ("support", "sales", "technical")}
    train = {"max_steps": 2, "batch_size": 2, "max_seq_len": 256, "device": "cpu", "no_progress": True,
             "targets": ["q_proj", "v_proj"], "r": 4}
    if fmt == "json":
        path = tmp_path / "domains.json"
        path.write_text(json.dumps({"base_model": str(tiny_model_dir), "out_dir": str(tmp_path / "out"), "train": train, "domains": domains}))
        return path
    lines = [f'base_model = "{tiny_model_dir}"', f'out_dir = "{tmp_path / "out"}"', "[train]"]
    lines += [f"{k} = {json.dumps(v).lower() if isinstance(v, bool) else json.dumps(v)}" for k, v in train.items()]
    for d, table in domains.items():
        lines += [f"[domains.{d}]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path = tmp_path / "domains.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_trains_all_three_domains_and_prints_push_commands_without_the_cli(tmp_path, tiny_model_dir, chat_files, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    config = write_config(tmp_path, tiny_model_dir, chat_files)
    assert train_all.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    for d in ("support", "sales", "technical"):
        adapter = tmp_path / "out" / d
        assert (adapter / "adapter_model.safetensors").is_file() and (adapter / "metrics.json").is_file()
        assert f"lora-edge push {adapter} --name {d}-v1 --domain {d}" in out


def test_pushes_each_adapter_with_the_lora_edge_cli(tmp_path, tiny_model_dir, chat_files, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pushes.log"
    fake = bin_dir / "lora-edge"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = write_config(tmp_path, tiny_model_dir, chat_files, fmt="json")
    assert train_all.main(["--config", str(config), "--only", "sales,technical"]) == 0
    assert log.read_text().splitlines() == [
        f"push {tmp_path / 'out' / 'sales'} --name sales-v1 --domain sales",
        f"push {tmp_path / 'out' / 'technical'} --name technical-v1 --domain technical",
    ]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--only", "legal"], "--only: unknown domain(s) legal"),
        (["--set", "rank=4"], "unknown option(s) rank"),
        (["--set", "r=0"], "--r must be > 0"),
    ],
)
def test_config_errors_are_one_line_before_any_training(tmp_path, tiny_model_dir, chat_files, capsys, extra, message):
    config = write_config(tmp_path, tiny_model_dir, chat_files)
    assert train_all.main(["--config", str(config), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()


def test_committed_config_is_valid(capsys):
    from conftest import TRAINING

    config = train_all.load_config(TRAINING / "domains.toml")
    args = train_all.argparse.Namespace(base_model=None, out_dir=None, only=None, set=[])
    runs = train_all.plan(config, TRAINING, args)
    assert [r["domain"] for r in runs] == ["support", "sales", "technical"]
    for run in runs:
        parsed = train_all.train_adapter.parse(run["argv"])
        assert parsed.data.is_file() and parsed.eval_data.is_file()
