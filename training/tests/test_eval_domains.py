"""eval_domains.py on the tiny model: the loss matrix and fact accuracy for base, own and wrong adapter."""

from __future__ import annotations

import json
import math

import pytest

import eval_domains
from domain_facts import DOMAINS


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, tiny_model_dir):
    """support: a fresh adapter (B = 0, so exactly the base); sales and technical: random non-zero."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("adapters")
    for seed, domain in enumerate(DOMAINS):
        torch.manual_seed(seed)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                               LoraConfig(r=4, target_modules=["q_proj", "up_proj"], init_lora_weights=domain == "support"))
        model.save_pretrained(str(root / domain))
    return root


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model_dir, adapters):
    """Base evaluated first on its own (as while adapters train), then the rest; the base part is reused."""
    tmp = tmp_path_factory.mktemp("report")
    common = ["--model", str(tiny_model_dir), "--adapters", str(adapters), "--limit", "2", "--max-new-tokens", "4",
              "--parts", str(tmp / "parts"), "--out", str(tmp / "eval.json"), "--threads", "1"]
    assert eval_domains.main([*common, "--configs", "base"]) == 0
    assert not (tmp / "eval.json").exists() and (tmp / "parts" / "base.json").is_file()
    base_part = json.loads((tmp / "parts" / "base.json").read_text())
    assert eval_domains.main(common) == 0
    result = json.loads((tmp / "eval.json").read_text())
    assert result["seconds_per_config"]["base"] == base_part["seconds"]
    return result


def test_loss_matrix_has_every_domain_under_base_and_each_adapter(report):
    assert set(report["loss"]) == set(DOMAINS)
    for domain, row in report["loss"].items():
        assert set(row) == {"base", *DOMAINS}
        for cell in row.values():
            assert cell["perplexity"] == pytest.approx(math.exp(cell["loss"]), rel=1e-4)
        # A zero-B adapter is the base exactly; random adapters are not: the switch really happens.
        assert row["support"]["loss"] == row["base"]["loss"]
        assert row["sales"]["loss"] != row["base"]["loss"] and row["technical"]["loss"] != row["sales"]["loss"]
        change = report["perplexity_change_own_vs_base"][domain]
        assert change == pytest.approx(row[domain]["perplexity"] / row["base"]["perplexity"] - 1, abs=1e-4)


def test_fact_accuracy_covers_base_own_and_wrong_adapter_per_question(report):
    assert len(report["questions"]) == 2 * len(DOMAINS)
    for q in report["questions"]:
        assert set(q["replies"]) == set(q["correct"]) == {"base", "own", "wrong"}
        assert q["accept"] and q["question"]
    for domain, acc in report["fact_accuracy"].items():
        assert acc["questions"] == 2 and acc["wrong_adapter"] == eval_domains.WRONG[domain] != domain
        assert all(0 <= acc[role] <= 1 for role in ("base", "own", "wrong"))
    assert set(report["adapters"]) == set(DOMAINS) and all(a["bytes"] > 0 for a in report["adapters"].values())


def test_missing_adapter_folder_is_a_usage_error(tmp_path, tiny_model_dir):
    with pytest.raises(SystemExit) as e:
        eval_domains.main(["--model", str(tiny_model_dir), "--adapters", str(tmp_path)])
    assert e.value.code == 2
