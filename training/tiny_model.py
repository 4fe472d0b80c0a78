"""Tiny, seeded Llama-family models and their tokenizer, built locally with no downloads.

    python training/tiny_model.py --out /tmp/tiny-llama                 # golden-sized Llama
    python training/tiny_model.py --out /tmp/base --hidden 256 --layers 4 --intermediate 512

Used by make_golden.py (parity fixtures), device_check.sh (GPU smoke training without network) and
the tests. Everything here is deterministic: the same call gives the same bytes.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel, Qwen2Config, Qwen2ForCausalLM

# ChatML, as Qwen2 uses it. The end-of-turn marker is the EOS so generation stops after a reply.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# A few paragraphs in the voice of the three demo domains plus the chat roles, so the learned merges
# make short token sequences for the text the tiny models see.
TOKENIZER_CORPUS = [
    "system\nuser\nassistant\n" * 8,
    "Hello, where is my order? It was supposed to arrive on Monday but the tracking page has not "
    "changed since Friday. Could you check the delivery status and tell me when it will ship?",
    "I am sorry about the delay. Your order left our warehouse yesterday and the carrier expects to "
    "deliver it within two business days. I have added a note to refund the shipping fee.",
    "We would like a quote for the team plan. How much does it cost per seat per month, and is there "
    "a discount if we pay for a full year up front? We have about forty users.",
    "The team plan is billed per seat. Annual billing saves twenty percent, and for more than "
    "twenty-five seats I can prepare a custom quote with volume pricing and a trial.",
    "The API returns a 401 error when I call the endpoint with my key. I set the header to "
    "Authorization: Bearer and the config file has the right region. What am I missing?",
    "A 401 means the token was rejected. Check that the key has not expired, that it belongs to the "
    "same project, and that your client does not strip the header on redirect. Retry with curl -v.",
    "Thanks for your help! Please send the invoice to my email address.",
]
TOKENIZER_VOCAB_SIZE = 320


def build_tokenizer():
    """Byte-level BPE (vocab 320) trained on TOKENIZER_CORPUS, wrapped as a transformers fast tokenizer
    with a ChatML chat template. Special token ids: <|endoftext|>=0, <|im_start|>=1, <|im_end|>=2."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps each token's character span exact, which the loss masking relies on.
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(TOKENIZER_CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        chat_template=CHATML_TEMPLATE,
        model_max_length=512,
    )


def llama_config(vocab_size: int, hidden: int = 64, layers: int = 2, intermediate: int = 128) -> LlamaConfig:
    """Llama with GQA (4 query heads over 2 KV heads), untied lm_head and rope_theta 50000, so a
    runtime that assumes MHA, tied weights or theta 10000 gets different logits."""
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rope_theta=50000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        initializer_range=0.1,
        bos_token_id=None,
        eos_token_id=2,
        pad_token_id=0,
    )


def qwen2_config(vocab_size: int, hidden: int = 64, layers: int = 2, intermediate: int = 128) -> Qwen2Config:
    """Qwen2: biases on q/k/v projections, tied embeddings, rope_theta 1e6, rms eps 1e-6."""
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        use_sliding_window=False,
        initializer_range=0.1,
        bos_token_id=None,
        eos_token_id=2,
        pad_token_id=0,
    )


def build_model(arch: str, vocab_size: int, seed: int, **dims: int) -> PreTrainedModel:
    """A randomly initialised fp32 model of `arch` ("llama" or "qwen2"), seeded."""
    config = {"llama": llama_config, "qwen2": qwen2_config}[arch](vocab_size, **dims)
    config._attn_implementation = "eager"  # same math on every machine; sdpa may pick other kernels
    torch.manual_seed(seed)
    model = {"llama": LlamaForCausalLM, "qwen2": Qwen2ForCausalLM}[arch](config)
    if arch == "qwen2":
        # transformers zero-initialises biases; random ones make a runtime that drops them visibly wrong.
        with torch.no_grad():
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    proj.bias.normal_(0.0, 0.1)
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from hf_compat import save_model_safetensors, save_tokenizer

    parser = argparse.ArgumentParser(description="Save a tiny seeded random model with the ChatML tokenizer.")
    parser.add_argument("--out", required=True, help="output folder (a Hugging Face checkpoint)")
    parser.add_argument("--arch", choices=["llama", "qwen2"], default="llama", help="default: %(default)s")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size, a multiple of 4 heads (default: %(default)s)")
    parser.add_argument("--layers", type=int, default=2, help="decoder layers (default: %(default)s)")
    parser.add_argument("--intermediate", type=int, default=128, help="MLP width (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    args = parser.parse_args(argv)
    if args.hidden <= 0 or args.hidden % 8 or args.layers <= 0 or args.intermediate <= 0:
        print("tiny_model: --hidden must be a positive multiple of 8, --layers and --intermediate positive", file=sys.stderr)
        return 2
    tokenizer = build_tokenizer()
    model = build_model(args.arch, len(tokenizer), args.seed, hidden=args.hidden, layers=args.layers,
                        intermediate=args.intermediate)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    save_model_safetensors(model, args.out)
    save_tokenizer(tokenizer, args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f"tiny_model: saved {args.arch} ({params:,} parameters) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
