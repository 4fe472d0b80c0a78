"""Chat data for adapter training: read OpenAI `messages` JSONL, apply the chat template, and mask
the loss to the assistant turns.

Masking works with any chat template that renders a conversation as a growing prefix: the assistant
reply `i` is the text between the prompt rendered for messages[:i] (with the generation prompt) and
the rendering of messages[:i+1]. That covers the reply and the template's end-of-turn marker (so the
model learns to stop), and nothing of the system prompt, the user turns or the role headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = {"system", "user", "assistant"}
IGNORE_INDEX = -100  # what torch's cross_entropy skips


class DataError(ValueError):
    """A problem with the training data, reported as one line with file and line number."""


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]  # input_ids where trained, IGNORE_INDEX elsewhere

    @property
    def trained_tokens(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE_INDEX)

    @property
    def predicted_tokens(self) -> int:
        """Trained tokens that have a predecessor: the loss terms this example contributes."""
        return sum(1 for t in self.labels[1:] if t != IGNORE_INDEX)


def load_conversations(path: str | Path) -> list[list[dict[str, str]]]:
    """Read JSONL with one `{"messages": [{"role", "content"}, ...]}` object per line.

    >>> load_conversations("data/chat/support.train.jsonl")[0][1]["role"]
    'user'
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    conversations = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not JSON ({e.msg})") from None
            messages = row.get("messages") if isinstance(row, dict) else None
            if not isinstance(messages, list) or not messages:
                raise DataError(f"{path}:{n}: expected an object with a non-empty 'messages' list")
            for i, m in enumerate(messages):
                if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                    raise DataError(
                        f"{path}:{n}: message {i} needs 'role' in {sorted(ROLES)} and a string 'content'"
                    )
            if not any(m["role"] == "assistant" for m in messages):
                raise DataError(f"{path}:{n}: no assistant message to train on")
            conversations.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not conversations:
        raise DataError(f"{path}: no conversations")
    return conversations


def render(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans [start, end) of each assistant reply
    (content plus end-of-turn marker, without the whitespace the template puts between turns)."""
    full = render(tokenizer, messages, add_generation_prompt=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = render(tokenizer, messages[:i], add_generation_prompt=True) if i else ""
        upto = render(tokenizer, messages[: i + 1], add_generation_prompt=False)
        if not (full.startswith(prompt) and full.startswith(upto) and len(upto) > len(prompt)):
            raise DataError(
                "the chat template does not render conversations as growing prefixes, so assistant "
                "turns cannot be located; pass a simpler template with --chat-template"
            )
        end = len(upto.rstrip())
        spans.append((len(prompt), max(end, len(prompt) + 1)))
    return full, spans


def encode(tokenizer: Any, messages: list[dict[str, str]], max_len: int) -> Example:
    """Token ids and labels for one conversation, truncated to `max_len` tokens.

    A token is trained when its characters overlap an assistant span; that includes a token which
    straddles the boundary into the reply, because it already carries reply text.
    """
    full, spans = assistant_spans(tokenizer, messages)
    # The template writes any BOS itself; letting the tokenizer add another would double it.
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    labels = []
    for tok, (start, end) in zip(ids, offsets):
        inside = any(start < e and max(end, start + 1) > s for s, e in spans)
        labels.append(tok if inside else IGNORE_INDEX)
    return Example(input_ids=ids[:max_len], labels=labels[:max_len])


def encode_all(tokenizer: Any, conversations: list[list[dict[str, str]]], max_len: int) -> tuple[list[Example], int]:
    """Encode every conversation; drops those with no assistant token left after truncation and
    returns how many were dropped."""
    examples = [encode(tokenizer, c, max_len) for c in conversations]
    kept = [e for e in examples if e.trained_tokens > 0]
    return kept, len(examples) - len(kept)


def collate(examples: list[Example], pad_id: int):
    """Right-padded batch: input_ids, attention_mask, labels (padding is never trained)."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e.input_ids)
        input_ids[i, :n] = torch.tensor(e.input_ids)
        labels[i, :n] = torch.tensor(e.labels)
        attention_mask[i, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
