"""How requests are offered to a target: the seed plan's four modes plus open-loop arrivals.

- ``single``: one request at a time.
- ``concurrent``: N in flight, closed loop (a new request as soon as one ends).
- ``batch``: every request submitted at once, then all collected.
- ``streaming``: like ``concurrent``; the report keeps each request's per-token arrival times.
- ``rate``: Poisson arrivals at R requests/s for a duration, open loop (as vLLM's ``bench serve``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from loadtest.driver import closed_loop_async
from loadtest.stats import Sample
from loadtest.targets import Params, Target

MODES = ("single", "concurrent", "batch", "streaming", "rate")


def poisson_schedule(rate: float, duration_s: float, seed: int) -> list[float]:
    """Arrival times (seconds from start) of a Poisson process with ``rate`` per second."""
    if rate <= 0 or duration_s <= 0:
        raise ValueError("rate and duration must be positive")
    rng = random.Random(seed)
    times, t = [], rng.expovariate(rate)
    while t < duration_s:
        times.append(t)
        t += rng.expovariate(rate)
    return times


async def run(
    mode: str,
    target: Target,
    client: httpx.AsyncClient,
    items: list[dict[str, Any]],
    params: Params,
    *,
    concurrency: int = 1,
    arrivals: list[float] | None = None,
    on_done: Callable[[Sample], None] = lambda sample: None,
) -> tuple[list[Sample], float]:
    """Offer ``items`` to ``target`` in ``mode``; return the samples and the wall time."""
    start = time.perf_counter()

    async def one(index: int, item: dict[str, Any]) -> Sample:
        sample = await target.send(client, item, params, index, start)
        on_done(sample)
        return sample

    # single, concurrent and batch are one closed loop at 1, N and all requests in flight
    in_flight = {"single": 1, "concurrent": concurrency, "streaming": concurrency, "batch": len(items)}
    if mode in in_flight:
        samples = await closed_loop_async(list(enumerate(items)), in_flight[mode], lambda pair: one(*pair))
    elif mode == "rate":
        assert arrivals is not None, "rate mode needs arrival times"
        samples = await _open_loop(one, items, arrivals, start)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return samples, time.perf_counter() - start


async def _open_loop(one, items: list[dict[str, Any]], arrivals: list[float], start: float) -> list[Sample]:
    tasks = []
    for index, at in enumerate(arrivals):
        delay = at - (time.perf_counter() - start)
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, items[index % len(items)])))
    return list(await asyncio.gather(*tasks))
