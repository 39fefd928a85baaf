"""A second model for routing runs and tests: a tiny randomly initialised Llama with the default
model's tokenizer, saved as a Hugging Face folder (``LLMJOBS_MODEL=<folder>``). Its answers are noise;
what matters is that it is a different model, with its own name, queue and workers, that loads in a second."""

from __future__ import annotations

from pathlib import Path


def make_tiny_llama(folder: Path, tokenizer_path: str, *, seed: int = 0) -> Path:
    """Write the tiny model into ``folder`` (its name becomes the model id) and return it."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
