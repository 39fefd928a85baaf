"""This process's memory use, for the worker heartbeat (and so for benchmarks and `/readyz`)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def memory_stats() -> dict[str, int]:
    """Current and peak RSS in bytes, plus CUDA allocator figures when a GPU is in use."""
    stats = {"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}  # Linux reports KiB
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                stats["rss_bytes"] = int(line.split()[1]) * 1024
    torch = sys.modules.get("torch")  # only report CUDA if the engine already imported torch
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        stats["cuda_allocated_bytes"] = torch.cuda.memory_allocated()
        stats["cuda_reserved_bytes"] = torch.cuda.memory_reserved()
        stats["cuda_peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
    return stats
