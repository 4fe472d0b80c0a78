"""Loss masking and data validation."""

from __future__ import annotations

import json

import pytest

from chat_data import IGNORE_INDEX, DataError, collate, encode, encode_all, load_conversations

CONVERSATION = [
    {"role": "system", "content": "You help with orders."},
    {"role": "user", "content": "Where is my order FH-123456?"},
    {"role": "assistant", "content": "It shipped on Monday with DHL."},
    {"role": "user", "content": "Thanks! When will it arrive?"},
    {"role": "assistant", "content": "On Wednesday, tracking 1Z999."},
]


def trained_text(tokenizer, example) -> str:
    return tokenizer.decode([t for t, l in zip(example.input_ids, example.labels) if l != IGNORE_INDEX])


def test_loss_mask_covers_exactly_the_assistant_replies_and_their_end_marker(tokenizer):
    example = encode(tokenizer, CONVERSATION, max_len=1024)
    expected = "It shipped on Monday with DHL.<|im_end|>On Wednesday, tracking 1Z999.<|im_end|>"
    assert trained_text(tokenizer, example) == expected
    # Everything else (system, user turns, role headers, separators) is untrained.
    untrained = tokenizer.decode([t for t, l in zip(example.input_ids, example.labels) if l == IGNORE_INDEX])
    assert untrained == (
        "<|im_start|>system\nYou help with orders.<|im_end|>\n<|im_start|>user\nWhere is my order FH-123456?"
        "<|im_end|>\n<|im_start|>assistant\n\n<|im_start|>user\nThanks! When will it arrive?<|im_end|>\n"
        "<|im_start|>assistant\n\n"
    )


def test_labels_equal_input_ids_where_trained(tokenizer):
    example = encode(tokenizer, CONVERSATION, max_len=1024)
    assert len(example.labels) == len(example.input_ids)
    assert all(l in (IGNORE_INDEX, t) for t, l in zip(example.input_ids, example.labels))
    assert example.trained_tokens == sum(l != IGNORE_INDEX for l in example.labels)


def test_mask_on_the_committed_demo_data(tokenizer):
    from conftest import REPO

    convs = load_conversations(REPO / "data" / "chat" / "technical.eval.jsonl")
    for conv in convs[:10]:
        text = trained_text(tokenizer, encode(tokenizer, conv, max_len=4096))
        assert text == "".join(m["content"] + "<|im_end|>" for m in conv if m["role"] == "assistant")


def test_truncation_drops_conversations_without_an_assistant_token(tokenizer):
    short = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    kept, dropped = encode_all(tokenizer, [CONVERSATION, short], max_len=12)
    assert dropped == 1 and len(kept) == 1 and len(kept[0].input_ids) == 12


def test_collate_pads_right_and_never_trains_padding(tokenizer):
    a = encode(tokenizer, CONVERSATION, 1024)
    b = encode(tokenizer, CONVERSATION[:3], 1024)
    batch = collate([a, b], pad_id=0)
    n = len(b.input_ids)
    assert batch["input_ids"].shape == (2, len(a.input_ids))
    assert batch["attention_mask"][1, n:].sum() == 0 and (batch["labels"][1, n:] == IGNORE_INDEX).all()


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "line 1|:1: not JSON"),
        (json.dumps({"messages": []}), "non-empty 'messages'"),
        (json.dumps({"messages": [{"role": "bot", "content": "x"}]}), "message 0 needs 'role'"),
        (json.dumps({"messages": [{"role": "user", "content": "x"}]}), "no assistant message"),
    ],
)
def test_bad_jsonl_is_reported_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DataError, match=message.split("|")[-1]) as e:
        load_conversations(path)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_conversations(tmp_path / "nope.jsonl")
