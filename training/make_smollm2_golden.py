#!/usr/bin/env python3
"""Reference values for SmolLM2-135M-Instruct from its GGUF, computed by transformers + gguf.

transformers loads the GGUF itself (`from_pretrained(dir, gguf_file=...)`, dequantizing with the
`gguf` package): that model is the oracle lora-edge's package is checked against
(test/unit/smollm2-parity.test.ts):

- `golden.json`: three chat prompts (rendered with the GGUF's chat template), their token ids,
  64 greedy tokens after each (no stop at EOS), and the token ids of 200+ varied strings and chat
  conversations;
- `golden.safetensors`: float32 logits `[3, vocab]` at the last position of each prompt.

The tokenizer oracle: transformers does not know the GGUF's pre-tokenizer name `smollm` and falls back
to plain byte-level; llama.cpp's `smollm` splits every digit first (`\\p{N}`, llama-vocab.cpp),
which is what SmolLM2 was trained with. So the reference ids come from the same Hugging Face tokenizer
with llama.cpp's pre-tokenizer set (Digits(individual_digits) then ByteLevel); the ids of the plain
fallback are recorded too, with how many strings differ.

    python training/make_smollm2_golden.py --gguf models/.cache/SmolLM2-135M-Instruct.Q4_1.gguf
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "test" / "fixtures" / "smollm2"
DEFAULT_GGUF = REPO / "models" / ".cache" / "SmolLM2-135M-Instruct.Q4_1.gguf"
GREEDY_TOKENS = 64

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
        {"role": "user", "content": "Why is the sky blue?"},
    ],
    [
        {"role": "user", "content": "Write a Python function that adds two numbers."},
        {"role": "assistant", "content": "def add(a, b):\n    return a + b"},
        {"role": "user", "content": "Now make it add three numbers, and explain it briefly."},
    ],
]

FIXED_STRINGS = [
    "", " ", "  ", "\n", "\n\n", "\t", " \t\n ", "a", "Hello, world!", "hello world", "Hello World", "HELLO",
    "The quick brown fox jumps over the lazy dog.", "I'm here; you're there, they've gone, we'll see, he'd know.",
    "0", "7", "42", "123", "2024", "3.14159", "-17", "1,000,000", "1e-5", "0x1F", "v1.2.3", "a1b2c3", "x = 12 + 345",
    "Order #12345 shipped on 2026-11-30 at 09:30.", "Call +1 (555) 010-9999", "price: $19.99 (was $24.50)",
    "  leading spaces", "trailing spaces   ", "multiple    spaces   inside", "tabs\tand\ttabs", "line\nbreak",
    "crlf\r\nline", "a  123 456", "    indented code", "\n\n\nthree newlines", "end with newline\n",
    "def f(x):\n    return x * 2\n", "for (let i = 0; i < n; i++) { sum += a[i]; }", "SELECT * FROM users WHERE id = 42;",
    '{"key": [1, 2, 3], "ok": true}', "<div class=\"x\">hi</div>", "#include <stdio.h>\nint main() { return 0; }",
    "console.log(`value: ${v}`);", "fn main() { println!(\"{}\", 1 + 2); }", "x_1 = y__2 ** 3 // 4",
    "naïve café résumé", "Straße", "Ελληνικά", "Русский текст", "日本語のテキスト", "中文文本", "한국어", "עברית", "العربية",
    "हिन्दी", "ไทย", "emoji 😀", "👍🏽", "👨‍👩‍👧‍👦 family", "🇫🇷 flag", "mixed 😀 text 123 ✓", "™ © ® ° ± µ",
    "∑ ∫ √ ∞ ≠ ≤", "“curly quotes” and ‘single’", "em—dash – en-dash", "…ellipsis", "\u00a0nbsp", "zero\u200bwidth",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "text <|im_end|> more", "<|im_start|>user\nhi<|im_end|>",
    "don't", "DON'T", "it's", "'s", "''", "\"\"", "...", "!!!", "???", "?!", "a.b.c", "e-mail", "snake_case", "camelCase",
    "PascalCase", "kebab-case", "UPPER_CASE", "http://example.com/path?q=1&r=2", "user@example.com", "C:\\path\\file.txt",
    "10%", "50/50", "3:45pm", "#hashtag", "@mention", "$HOME", "~/dir", "a\u0301", "\u00e9", "ﬁ ligature", "Ⅻ", "½ ¾",
    "١٢٣", "१२३", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0001F600\U0001F601\U0001F602",
]


def varied_strings(n: int) -> list[str]:
    """FIXED_STRINGS plus seeded random mixes of words, digits, whitespace runs and symbols."""
    rng = random.Random(11)
    words = ["the", "model", "LoRA", "adapter", "edge", "Worker", "token", "Straße", "日本", "😀", "naïve", "über", "x", "I"]
    pieces = words + [str(rng.randint(0, 10**6)) for _ in range(8)] + [" ", "  ", "   ", "\n", "\t", "\n\n", ".", ",", "!", "?", "-", "'s", "()", "{}", "=", "+", "#"]
    out = list(FIXED_STRINGS)
    while len(out) < n:
        k = rng.randint(1, 12)
        out.append("".join(rng.choice(pieces) + (" " if rng.random() < 0.5 else "") for _ in range(k)))
    return out


CONVERSATIONS = [
    [{"role": "user", "content": "Hi!"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
    [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi! How can I help?"}, {"role": "user", "content": "Tell me a joke 😀"}],
    [{"role": "system", "content": "Système: réponds en français."}, {"role": "user", "content": "Quelle heure est-il ?"}, {"role": "assistant", "content": "Il est 9 h 30."}],
    [{"role": "user", "content": "```py\nprint(1)\n```\nWhat does this print?"}],
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gguf", type=Path, default=DEFAULT_GGUF)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    if not args.gguf.is_file():
        print(f"make_smollm2_golden: {args.gguf} not found (run `npm run model:smollm2` first)", file=sys.stderr)
        return 1

    import torch
    from safetensors.torch import save_file
    from tokenizers import pre_tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    load = {"gguf_file": args.gguf.name}
    tok = AutoTokenizer.from_pretrained(args.gguf.parent, **load)
    fallback = AutoTokenizer.from_pretrained(args.gguf.parent, **load)
    # llama.cpp's `smollm` pre-tokenizer: each digit on its own, then GPT-2's split
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    model = AutoModelForCausalLM.from_pretrained(args.gguf.parent, dtype=torch.float32, **load).eval()

    prompts, logits = [], []
    with torch.no_grad():
        for messages in PROMPTS:
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tok.encode(text, add_special_tokens=False)
            out = model(torch.tensor([ids]), use_cache=True)
            logits.append(out.logits[0, -1].float().clone())
            past, nxt, greedy = out.past_key_values, int(out.logits[0, -1].argmax()), []
            for _ in range(GREEDY_TOKENS):
                greedy.append(nxt)
                out = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, int(out.logits[0, -1].argmax())
            prompts.append({"messages": messages, "text": text, "ids": ids, "greedy": greedy, "greedy_text": tok.decode(greedy)})

    strings = varied_strings(220)
    encoded = [tok.encode(s, add_special_tokens=False) for s in strings]
    plain = [fallback.encode(s, add_special_tokens=False) for s in strings]
    chats = []
    for messages in CONVERSATIONS:
        for gen in (False, True):
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            chats.append({"messages": messages, "add_generation_prompt": gen, "text": text, "ids": tok.encode(text, add_special_tokens=False)})

    args.out.mkdir(parents=True, exist_ok=True)
    save_file({"last_logits": torch.stack(logits).contiguous()}, str(args.out / "golden.safetensors"), metadata={"format": "pt"})
    golden = {
        "source": {"gguf": args.gguf.name, "transformers": __import__("transformers").__version__, "gguf_py": __import__("gguf").__version__ if hasattr(__import__("gguf"), "__version__") else "?"},
        "greedy_tokens": GREEDY_TOKENS,
        "prompts": prompts,
        "strings": [{"text": s, "ids": e} for s, e in zip(strings, encoded)],
        "plain_byte_level_differs": [i for i, (a, b) in enumerate(zip(encoded, plain)) if a != b],
        "chats": chats,
    }
    (args.out / "golden.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {args.out}: {len(strings)} strings ({len(golden['plain_byte_level_differs'])} differ under plain byte-level), {len(chats)} chats, {len(prompts)} prompts")
    for pr in prompts:
        print(repr(pr["greedy_text"][:120]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
