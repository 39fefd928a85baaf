"""Driving an engine in-process, no HTTP: the requests every ``loadtest.inprocess`` benchmark sends,
and the closed loop (``loadtest.driver``) that times them.

    run = drive(engine, requests, concurrency=32)
    run.wall_s, run.tokens_per_s, [t.ttft_s for t in run.timings]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from app.engine.types import GenerationRequest
from loadtest.driver import closed_loop
from loadtest.workloads import FOLDER


@dataclass(frozen=True)
class Timing:
    """One request, timed from the call to ``engine.generate``."""

    ttft_s: float | None  # until the first token reached the callback (None: nothing was generated)
    total_s: float
    tokens: int


@dataclass(frozen=True)
class Run:
    """Requests driven through one engine: the wall time and each request's timing, in order."""

    wall_s: float
    timings: list[Timing]

    @property
    def tokens(self) -> int:
        return sum(t.tokens for t in self.timings)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s if self.wall_s > 0 else 0.0


def timed(engine: Any, request: GenerationRequest) -> Timing:
    """Generate ``request`` to its end; the first token's time comes from the streaming callback."""
    first: list[float] = []
    begin = time.perf_counter()
    completion = engine.generate(request, on_delta=lambda _: first or first.append(time.perf_counter()))
    total = time.perf_counter() - begin
    return Timing(ttft_s=first[0] - begin if first else None, total_s=total, tokens=completion.completion_tokens)


def drive(engine: Any, requests: list[GenerationRequest], concurrency: int) -> Run:
    """``requests`` with ``concurrency`` in flight (closed loop); a failed request is raised."""
    _synchronize(engine.device)  # queued GPU work must not be counted in this run
    started = time.perf_counter()
    timings = closed_loop(requests, concurrency, lambda request: timed(engine, request))
    _synchronize(engine.device)
    return Run(wall_s=time.perf_counter() - started, timings=timings)


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def chat_ids(tokenizer: Any, content: str) -> list[int]:
    """The token ids of one user message in the model's chat template, ready for a reply."""
    return list(
        tokenizer.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True, return_dict=False)
    )


def short_chat_questions() -> list[str]:
    """The ``short_chat`` workload's questions in file order (the HTTP load test shuffles them)."""
    lines = (FOLDER / "short_chat.jsonl").read_text().splitlines()
    return [json.loads(line)["messages"][-1]["content"] for line in lines if line.strip()]
