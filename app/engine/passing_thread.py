"""Running PyTorch work in a thread that ends with it, so that no thread but the engine's keeps a
team of OpenMP threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def in_passing_thread(build: Callable[[], T]) -> T:
    """Run ``build`` in a thread that ends with it, and return its result (or raise its error).

    Loading weights runs PyTorch's OpenMP kernels, and with libgomp a thread that has run them
    keeps a team of OpenMP threads for as long as it lives; while one does, every other thread's
    parallel kernels run ~2.2x slower (measured here: a 576x3072 fp16 linear at batch 1 takes
    37 us alone and 82 us while a loading thread lives on, e.g. the worker's heartbeat thread or
    a flags thread). Loading in a thread of its own leaves the engine thread the only OpenMP user.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmjobs-load") as pool:
        return pool.submit(build).result()
