"""The closed loop the benchmarks here drive their requests with: ``concurrency`` in flight, the next
one sent as soon as one ends, results in the order of the items.

``closed_loop`` runs a blocking call in threads (the in-process benchmarks: ``engine.generate``
blocks its caller while the engine steps, so one thread per request in flight is what a worker
does too); ``closed_loop_async`` runs a coroutine (the HTTP load test). Both rest on the standard
library (a thread pool, a semaphore), not on a hand-written queue of workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def closed_loop(items: Iterable[Item], concurrency: int, fn: Callable[[Item], Result]) -> list[Result]:
    """``fn`` over ``items`` with at most ``concurrency`` calls at once; the first failure is raised.

    A pool of ``concurrency`` threads is a closed loop: each thread takes the next item when its
    call returns. ``map`` keeps the items' order and re-raises a failed call's exception, so a
    failed request fails the benchmark instead of shrinking its figures."""
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(items)))) as pool:
        return list(pool.map(fn, items))


async def closed_loop_async(items: Iterable[Item], concurrency: int, fn: Callable[[Item], Awaitable[Result]]) -> list[Result]:
    """``closed_loop`` for a coroutine: a semaphore of ``concurrency`` admits the next item as one ends."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(item: Item) -> Result:
        async with gate:  # waiters are admitted first come, first served: the items' order
            return await fn(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
