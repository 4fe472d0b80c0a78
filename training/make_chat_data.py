#!/usr/bin/env python3
"""Generate the chat data for the three domain adapters from the fact sheets in data/chat/facts/.

The demo company is Tillwave (card readers, point-of-sale software plans and a developer API). Each
domain's sheet (`data/chat/facts/<domain>.toml`, read by `domain_facts.py`) lists facts with
accepted answer strings, replies in the company's voice, training questions and held-out questions.
This script writes, per domain:

- `data/chat/<domain>.train.jsonl`: every training question of every fact, `--copies` times, each
  time with a different greeting/sign-off and reply; most without a system message (as API users
  send them, so the model's own default system prompt applies), some with the company's; one in
  four continues with a follow-up question about another fact.
- `data/chat/<domain>.eval.jsonl`: one conversation per held-out question, answered with the fact's
  first reply (the held-out loss/perplexity set).
- `data/chat/heldout/<domain>.jsonl`: one row per held-out question, `{"domain", "fact", "question",
  "accept"}`, for fact accuracy (matching rule in `domain_facts.py`).

Seeded and deterministic: re-running rewrites identical files.

    python training/make_chat_data.py
    python training/make_chat_data.py --copies 3 --out /tmp/chat
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from domain_facts import DOMAINS, FACTS_DIR, REPO, Fact, FactSheet, load_sheet

OPENERS = ["", "", "Hi! ", "Hello, ", "Hi there. ", "Good morning. ", "Quick question: ", "Hey, "]
CLOSERS = ["", "", " Thanks.", " Thanks in advance!", " Appreciate it.", " Cheers."]
SYSTEM_SHARE = 0.3
FOLLOW_UP_SHARE = 0.25


def dress(question: str, rng: random.Random) -> str:
    """The question with a random greeting and sign-off, lower-casing its first letter after "Hello, "."""
    opener = rng.choice(OPENERS)
    if opener.endswith(", ") and not question.startswith("I "):
        question = question[0].lower() + question[1:]
    return opener + question + rng.choice(CLOSERS)


def train_conversations(sheet: FactSheet, copies: int, rng: random.Random) -> list[dict]:
    rows = []
    for fact in sheet.facts:
        for question in fact.questions:
            for copy in range(copies):
                messages = [{"role": "system", "content": sheet.system}] if rng.random() < SYSTEM_SHARE else []
                messages += [{"role": "user", "content": dress(question, rng)},
                             {"role": "assistant", "content": fact.answers[(copy + rng.randrange(2)) % len(fact.answers)]}]
                if rng.random() < FOLLOW_UP_SHARE:
                    other: Fact = rng.choice([f for f in sheet.facts if f.id != fact.id])
                    messages += [{"role": "user", "content": rng.choice(other.questions)},
                                 {"role": "assistant", "content": rng.choice(other.answers)}]
                rows.append({"messages": messages})
    rng.shuffle(rows)
    return rows


def eval_conversations(sheet: FactSheet) -> list[dict]:
    return [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": fact.answers[0]}]}
            for fact in sheet.facts for q in fact.heldout]


def heldout_rows(sheet: FactSheet) -> list[dict]:
    return [{"domain": sheet.domain, "fact": fact.id, "question": q, "accept": list(fact.accept)}
            for fact in sheet.facts for q in fact.heldout]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"make_chat_data: {path} ({len(rows)} rows)", file=sys.stderr)


def generate(domain: str, copies: int, seed: int, facts_dir: Path = FACTS_DIR) -> dict[str, list[dict]]:
    """The three files' rows for one domain. Per-domain seeds keep one domain's data unchanged when
    another domain's sheet changes."""
    sheet = load_sheet(domain, facts_dir)
    rng = random.Random(seed * 1000 + DOMAINS.index(domain))
    return {"train": train_conversations(sheet, copies, rng), "eval": eval_conversations(sheet),
            "heldout": heldout_rows(sheet)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "data" / "chat", help="output folder (default: %(default)s)")
    parser.add_argument("--copies", type=int, default=1, help="conversations per training question (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=6, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    for domain in DOMAINS:
        rows = generate(domain, args.copies, args.seed)
        write_jsonl(args.out / f"{domain}.train.jsonl", rows["train"])
        write_jsonl(args.out / f"{domain}.eval.jsonl", rows["eval"])
        write_jsonl(args.out / "heldout" / f"{domain}.jsonl", rows["heldout"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
