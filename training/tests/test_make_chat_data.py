"""The fact-based chat data: deterministic, covering every fact, and no held-out question trained on."""

from __future__ import annotations

import json
import re

import pytest

import make_chat_data
from domain_facts import DOMAINS, FactSheetError, load_sheet, normalize, states_fact
from conftest import REPO

CHAT = REPO / "data" / "chat"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9$%.@/-]+", normalize(text))


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def test_regenerating_writes_the_committed_files_byte_for_byte(tmp_path):
    assert make_chat_data.main(["--out", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert len(written) == 9
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (CHAT / rel).read_bytes(), rel


def test_generation_is_deterministic_and_seed_dependent():
    assert make_chat_data.generate("sales", 2, 6) == make_chat_data.generate("sales", 2, 6)
    assert make_chat_data.generate("sales", 2, 6)["train"] != make_chat_data.generate("sales", 2, 7)["train"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_fact_and_every_training_question_is_trained(domain):
    sheet = load_sheet(domain)
    rows = make_chat_data.generate(domain, 2, 6)["train"]
    replies = [m["content"] for r in rows for m in r["messages"] if m["role"] == "assistant"]
    users = [m["content"] for r in rows for m in r["messages"] if m["role"] == "user"]
    for fact in sheet.facts:
        assert sum(states_fact(r, fact.accept) for r in replies) >= 2 * len(fact.questions), fact.id
        for q in fact.questions:
            assert any(q in u or q[0].lower() + q[1:] in u for u in users), (fact.id, q)


@pytest.mark.parametrize("domain", DOMAINS)
def test_heldout_set_has_at_least_40_questions_each_needing_a_fact(domain):
    rows = [json.loads(l) for l in (CHAT / "heldout" / f"{domain}.jsonl").read_text().splitlines()]
    assert len(rows) >= 40
    facts = {f.id: f for f in load_sheet(domain).facts}
    for row in rows:
        assert row["domain"] == domain and row["accept"] == list(facts[row["fact"]].accept)
    assert {r["fact"] for r in rows} == set(facts)


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_heldout_question_occurs_in_or_shares_five_words_with_the_training_data(domain):
    heldout = [json.loads(l)["question"] for l in (CHAT / "heldout" / f"{domain}.jsonl").read_text().splitlines()]
    train = [json.loads(l) for l in (CHAT / f"{domain}.train.jsonl").read_text().splitlines()]
    user_turns = [normalize(m["content"]) for r in train for m in r["messages"] if m["role"] == "user"]
    train_grams = set().union(*(ngrams(u, 5) for u in user_turns))
    for q in heldout:
        assert not any(normalize(q) in u for u in user_turns), q
        assert not ngrams(q, 5) & train_grams, (q, ngrams(q, 5) & train_grams)


def test_matching_ignores_case_dash_kind_and_spacing():
    assert states_fact("Standard shipping takes 4–6  Business\nDays.", ["4-6 business days"])
    assert states_fact("Use the IDEMPOTENCY-KEY header", ["Idempotency-Key"])
    assert not states_fact("It takes 3-5 business days", ["4-6 business days", "4 to 6 business days"])


def test_a_sheet_whose_answer_does_not_state_its_fact_is_refused(tmp_path):
    (tmp_path / "support.toml").write_text(
        'company = "X"\ndomain = "support"\nsystem = "s"\n[[fact]]\nid = "a"\naccept = ["45 days"]\n'
        'answers = ["You have 30 days."]\nquestions = ["q?"]\nheldout = ["h?"]\n')
    with pytest.raises(FactSheetError, match="states none of"):
        load_sheet("support", tmp_path)
