"""Driving an engine in-process the way a worker's task threads do: several requests from threads
of their own. Shared by the engine's integration tests and the tensor-parallel rank script."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

QUESTIONS = [
    "What is the capital of France? Answer in one sentence.",
    "Why is the sky blue?",
    "Write a haiku about autumn rain.",
    "List four planets of the solar system.",
    "What is a prime number?",
    "Explain recursion with a simple example.",
]

JOIN_TIMEOUT_S = 300


def chat_ids(engine: Any, question: str) -> list[int]:
    """The prompt token ids of ``question`` as one user turn in the engine's chat template."""
    messages = [{"role": "user", "content": question}]
    return list(engine.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False))


def run_together(
    engine: Any,
    requests: list[Any],
    on_delta: Callable[[int], Callable[[Any], None] | None] | None = None,
    should_stop: Callable[[int], Callable[[], bool]] | None = None,
    staggered: bool = True,
) -> list[Any]:
    """Generate every request from a thread of its own; return each one's completion (or exception).

    ``staggered``: request ``i`` arrives once request ``i - 1`` has streamed its first token (or
    ended), so it joins a batch that is mid-generation; otherwise all arrive at once.
    ``on_delta(i)`` / ``should_stop(i)``: request ``i``'s callbacks.
    """
    results: list[Any] = [None] * len(requests)
    streaming = [threading.Event() for _ in requests]  # set at a request's first token, or its end

    def one(i: int) -> None:
        if staggered and i > 0:
            assert streaming[i - 1].wait(JOIN_TIMEOUT_S), f"request {i - 1} never started"
        theirs = on_delta(i) if on_delta else None

        def delta(d: Any) -> None:
            streaming[i].set()
            if theirs is not None:
                theirs(d)

        try:
            results[i] = engine.generate(requests[i], on_delta=delta, should_stop=should_stop(i) if should_stop else None)
        except Exception as exc:  # noqa: BLE001 - the test inspects what came back
            results[i] = exc
        finally:
            streaming[i].set()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    return results
