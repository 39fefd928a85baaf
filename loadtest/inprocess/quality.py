"""What a weight format costs in quality and memory (``python -m loadtest.inprocess.quality``).

For each mode of ``LLMJOBS_QUANTIZATION`` given (and ``llamacpp`` / ``llamacpp:FILE.gguf``: the
llama.cpp runner on the model's own GGUF file / on another GGUF file, e.g. a requantized copy): the bytes the weights occupy, perplexity on
``loadtest/workloads/sentences.txt`` (a text shipped in the repository), and how many greedy
answers to the 32 ``short_chat`` prompts come out token-for-token identical to mode ``none``
(and at which token the others first differ). The seed plan's "quality loss < 2 %" is read as:
perplexity within 2 % of ``none``. With ``--batch-check``, also how many of those answers stay
the same when the batching engine runs them all at once instead of one by one (a format that
scales activations across the batch fails this).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path

from app.config import load_config
from loadtest.driver import closed_loop
from loadtest.inprocess.driver import chat_ids, short_chat_questions
from loadtest.report import write_json
from loadtest.workloads import FOLDER


def weight_bytes(model) -> int:
    """Parameters plus the packed weights that quantized modules keep outside ``parameters()``."""
    import torch

    total = sum(p.numel() * p.element_size() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            weight, bias = module._weight_bias()  # unpacked as float32: count the packed format's size
            size = 2 if module._packed_params.dtype == torch.float16 else weight.element_size()
            total += weight.numel() * size + (0 if bias is None else bias.numel() * bias.element_size())
    return total


def perplexity(model, tokenizer, text: str, window: int = 512) -> float:
    import torch

    ids = tokenizer(text, return_tensors="pt")["input_ids"][0]
    nll, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(ids) - 1, window):
            chunk = ids[start : start + window + 1].unsqueeze(0)
            if chunk.shape[1] < 2:
                break
            logits = model(input_ids=chunk[:, :-1]).logits.float()
            loss = torch.nn.functional.cross_entropy(logits[0], chunk[0, 1:], reduction="sum")
            nll += float(loss)
            count += chunk.shape[1] - 1
    return math.exp(nll / count)


def greedy_answers(model, tokenizer, prompts: list[str], max_tokens: int) -> list[list[int]]:
    import torch

    answers = []
    with torch.inference_mode():
        for prompt in prompts:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id)
            answers.append(out[0, ids["input_ids"].shape[1] :].tolist())
    return answers


def llamacpp_perplexity(path: Path, text: str, tokenizer, window: int = 512) -> float:
    """:func:`perplexity` with llama.cpp's kernels (the llama.cpp runner's forward) on the GGUF at ``path``."""
    import torch

    from app.engine.llamacpp_model import LlamaCppModel

    model = LlamaCppModel(path, n_ctx=window + 1, n_batch=window + 1, n_seq_max=1, threads=torch.get_num_threads())
    ids = tokenizer(text)["input_ids"]
    nll, count = 0.0, 0
    try:
        for start in range(0, len(ids) - 1, window):
            chunk = ids[start : start + window + 1]
            if len(chunk) < 2:
                break
            model.forget(0)
            logits = model.forward([(0, 0, chunk[:-1], True)])
            nll += float(torch.nn.functional.cross_entropy(logits, torch.tensor(chunk[1:]), reduction="sum"))
            count += len(chunk) - 1
    finally:
        model.close()
    return math.exp(nll / count)


def llamacpp_row(config, mode: str, text: str, prompts: list[str], max_tokens: int, batch_check: bool) -> tuple[dict, list]:
    """``llamacpp`` (the model's own GGUF file) or ``llamacpp:FILE`` (that GGUF file): the batching
    engine on llama.cpp's kernels gives the greedy answers, one request at a time."""
    from app.engine.loader import load_model

    model, tokenizer, device = load_model(replace(config.model, runner="llamacpp"))
    if mode.startswith("llamacpp:"):
        model.llmjobs_gguf = Path(mode.split(":", 1)[1])
    engine = batching_engine(replace(config, worker=replace(config.worker, runner="llamacpp")), model, tokenizer, device)
    try:
        started = time.perf_counter()
        sampling_prompts = [chat_ids(tokenizer, p) for p in prompts]
        answers = closed_loop(sampling_prompts, 1, lambda ids: engine.generate(greedy_request(ids, max_tokens)).token_ids)
        row = {
            "mode": mode,
            "device": device,
            "weight_mb": round(Path(model.llmjobs_gguf).stat().st_size / 2**20, 1),
            "perplexity": round(llamacpp_perplexity(Path(model.llmjobs_gguf), text, tokenizer), 4),
            "greedy_s": round(time.perf_counter() - started, 1),
        }
        if batch_check:
            row["same_answer_alone_and_batched"] = batch_independence(engine, prompts, max_tokens)
    finally:
        engine.close()
    return row, answers


def greedy_request(ids: list[int], max_tokens: int):
    from app.engine.types import GenerationRequest, SamplingParams

    return GenerationRequest("q", ids, SamplingParams(max_tokens=max_tokens, temperature=0.0))


def batch_independence(engine, prompts: list[str], max_tokens: int) -> str:
    """How many greedy answers a batching engine gives identically alone and all together."""
    from app.engine.types import GenerationRequest, SamplingParams

    sampling = SamplingParams(max_tokens=max_tokens, temperature=0.0)
    requests = [GenerationRequest(str(i), chat_ids(engine.tokenizer, p), sampling) for i, p in enumerate(prompts)]
    alone = closed_loop(requests, 1, lambda r: engine.generate(r).token_ids)
    together = closed_loop(requests, len(requests), lambda r: engine.generate(r).token_ids)
    return f"{sum(a == b for a, b in zip(alone, together, strict=True))}/{len(prompts)}"


def batching_engine(config, model, tokenizer, device: str):
    from app.engine import engine_for

    worker_config = replace(config.worker, engine="batching")
    return engine_for(
        worker_config,
        model,
        tokenizer,
        device=device,
        model_name=config.model.source().name,
        context_length=config.model.context_length_of(model.config),
    )


def compared(row: dict, answers: list[list[int]], reference: tuple[dict, list] | None) -> dict:
    """``row`` with how its greedy answers and perplexity compare with the first mode's (the reference)."""
    if reference is None or reference[0] is row:
        return row
    first_diffs = [
        next((i for i, (a, b) in enumerate(zip(mine, ref, strict=False)) if a != b), None)
        for mine, ref in zip(answers, reference[1], strict=True)
    ]
    row["identical_greedy_answers"] = f"{sum(mine == ref for mine, ref in zip(answers, reference[1], strict=True))}/{len(answers)}"
    row["first_difference_at_token"] = sorted(d for d in first_diffs if d is not None)
    row["perplexity_change_pct"] = round(100 * (row["perplexity"] / reference[0]["perplexity"] - 1), 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.inprocess.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", default=["none", "fp16-weights"])
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=32, help="how many short_chat prompts (slow modes: fewer)")
    parser.add_argument("--batch-check", action="store_true", help="also compare answers alone and batched")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from app.engine.loader import load_model

    config = load_config()
    text = (FOLDER / "sentences.txt").read_text()
    prompts = short_chat_questions()[: args.prompts]
    results, reference = [], None
    for mode in args.modes:
        if mode.startswith("llamacpp"):
            row, answers = llamacpp_row(config, mode, text, prompts, args.max_tokens, args.batch_check)
            results.append(compared(row, answers, reference))
            print(json.dumps(row), flush=True)
            continue
        model, tokenizer, device = load_model(replace(config.model, quantization=mode))
        started = time.perf_counter()
        answers = greedy_answers(model, tokenizer, prompts, args.max_tokens)
        row = {
            "mode": getattr(model, "llmjobs_quantization", mode),
            "device": device,
            "weight_mb": round(weight_bytes(model) / 2**20, 1),
            "perplexity": round(perplexity(model, tokenizer, text), 4),
            "greedy_s": round(time.perf_counter() - started, 1),
        }
        if args.batch_check:
            engine = batching_engine(config, model, tokenizer, device)
            try:
                row["same_answer_alone_and_batched"] = batch_independence(engine, prompts, args.max_tokens)
            finally:
                engine.close()
        if reference is None:
            reference = (row, answers)
        results.append(compared(row, answers, reference))
        print(json.dumps(row), flush=True)
        del model
    if args.json:
        write_json({"max_tokens": args.max_tokens, "prompts": len(prompts), "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
