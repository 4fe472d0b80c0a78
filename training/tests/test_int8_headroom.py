"""bench_int8_headroom.py's rotation is exact and its int8 rounding is the scheme it names."""

from __future__ import annotations

import pytest
import torch

from bench_int8_headroom import fake_int8, kron_orthogonal, rotate
from tiny_model import build_model


def random_llama(tied: bool):
    # intermediate 48 = 16 x 3: the run-time rotation before down_proj is Hadamard(16) (x) orthogonal(3)
    model = build_model("llama", 96, seed=3, hidden=32, layers=2, intermediate=48).double()
    with torch.no_grad():  # RMSNorm gains are ones at init; random ones make folding them visible
        for norm in [model.model.norm] + [n for l in model.model.layers for n in (l.input_layernorm, l.post_attention_layernorm)]:
            norm.weight.uniform_(0.5, 1.5)
    if tied:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model


@pytest.mark.parametrize("tied", [False, True])
def test_rotation_leaves_the_logits_as_they_were(tied):
    model = random_llama(tied)
    ids = torch.randint(0, 96, (2, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = model(ids).logits
        rotate(model, seed=5)
        got = model(ids).logits
    # float64 throughout except transformers' RMSNorm, which normalizes in float32: ~1e-7
    assert float((got - want).norm() / want.norm()) < 1e-6
    # and it did turn the weights: the embedding rows are no longer the originals
    assert not torch.allclose(model.model.embed_tokens.weight, random_llama(tied).model.embed_tokens.weight)


def test_kron_orthogonal_is_orthogonal():
    q = kron_orthogonal(48, torch.Generator().manual_seed(1))
    assert torch.allclose(q @ q.T, torch.eye(48, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("groups", [None, 32])
def test_fake_int8_rounds_to_127_levels_per_scale(groups):
    x = torch.randn(3, 64, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * torch.logspace(-2, 2, 64, dtype=torch.float64)
    q = fake_int8(x, groups)
    g = (x.reshape(3, 64 // groups, groups) if groups else x[:, None, :])
    scale = g.abs().amax(-1, keepdim=True) / 127
    err = (q.reshape(g.shape) - g).abs()
    assert bool((err <= scale / 2 + 1e-15).all())
    levels = torch.round(q.reshape(g.shape) / scale)
    assert bool((levels.abs() <= 127).all()) and torch.allclose(levels * scale, q.reshape(g.shape))
    assert float(err.max()) > 0  # it did round
