"""The demo company's fact sheets (data/chat/facts/<domain>.toml) and the rule that says whether a
reply states a fact.

A fact sheet has `company`, `domain`, `system` (the company's system prompt for that domain) and a
list of `[[fact]]` tables: `id`, `accept` (strings, any of which makes a reply correct), `answers`
(replies in the company's voice, each containing an accepted string), `questions` (training
phrasings) and `heldout` (evaluation phrasings, never trained on).

Matching (`states_fact`), written to be re-implemented verbatim in TypeScript:
    normalize(s) = NFKC(s), lower-cased, every dash character (U+2010..U+2015, U+2212) replaced by
                   "-", every run of whitespace replaced by one space, trimmed
    correct      = some accepted string a with normalize(a) a substring of normalize(reply)
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACTS_DIR = REPO / "data" / "chat" / "facts"
DOMAINS = ("support", "sales", "technical")
_DASHES = re.compile("[\u2010-\u2015\u2212]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Fact:
    id: str
    accept: tuple[str, ...]
    answers: tuple[str, ...]
    questions: tuple[str, ...]
    heldout: tuple[str, ...]


@dataclass(frozen=True)
class FactSheet:
    company: str
    domain: str
    system: str
    facts: tuple[Fact, ...]


class FactSheetError(Exception):
    pass


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", _DASHES.sub("-", text)).strip()


def states_fact(reply: str, accept: list[str] | tuple[str, ...]) -> bool:
    said = normalize(reply)
    return any(normalize(a) in said for a in accept)


def load_sheet(domain: str, folder: Path = FACTS_DIR) -> FactSheet:
    """Read and check one sheet: every answer states its fact, ids are unique, lists are non-empty."""
    path = folder / f"{domain}.toml"
    raw = tomllib.loads(path.read_text())
    facts, seen = [], set()
    for table in raw.get("fact", []):
        fact = Fact(table["id"], *(tuple(table[k]) for k in ("accept", "answers", "questions", "heldout")))
        if fact.id in seen:
            raise FactSheetError(f"{path}: duplicate fact id {fact.id}")
        seen.add(fact.id)
        for field in ("accept", "answers", "questions", "heldout"):
            if not getattr(fact, field):
                raise FactSheetError(f"{path}: fact {fact.id} has no {field}")
        for answer in fact.answers:
            if not states_fact(answer, fact.accept):
                raise FactSheetError(f"{path}: an answer of {fact.id} states none of {list(fact.accept)}: {answer!r}")
        facts.append(fact)
    if not facts:
        raise FactSheetError(f"{path}: no [[fact]] tables")
    return FactSheet(raw["company"], raw["domain"], raw["system"], tuple(facts))
