"""The soak run's plot: memory of every process, Redis, the queue, and TTFT and errors over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(report: dict[str, Any], path: Path) -> Path:
    """Four stacked panels over the run's minutes; warm-up and the end of the load marked."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to PNG
    import matplotlib.pyplot as plt

    series = report["series"]
    minutes = [s["t"] / 60 for s in series]
    fig, (rss, red, queue, ttft) = plt.subplots(4, 1, figsize=(8, 10), sharex=True)
    roles = sorted({role for s in series for role in s["processes"]})
    for role in roles:
        points = [(m, s["processes"][role]["rss_mib"]) for m, s in zip(minutes, series, strict=True) if role in s["processes"]]
        if max(v for _, v in points) > 20:  # leave out the supervisor's and Redis' few MiB: they would flatten the rest
            rss.plot(*zip(*points, strict=True), label=role)
    rss.set(ylabel="RSS (MiB)", title="process memory")
    red.plot(minutes, [s["redis"]["used_memory_mib"] for s in series], label="used_memory")
    streams = red.twinx()
    streams.plot(minutes, [s["redis"]["event_streams"] for s in series], color="tab:orange", alpha=0.6, label="event streams")
    streams.set_ylabel("event streams")
    red.set(ylabel="Redis used_memory (MiB)", title="Redis")
    queue.plot(minutes, [s["redis"]["queue_depth"] for s in series], label="queued")
    queue.plot(minutes, [s["redis"]["running"] for s in series], label="running")
    queue.set(ylabel="jobs", title="queue")
    ttft.plot(minutes, [s["ttft_p95_s"] for s in series], label="TTFT p95")
    ttft.plot(minutes, [s["ttft_p50_s"] for s in series], label="TTFT p50")
    errors = [(m, s["errors"]) for m, s in zip(minutes, series, strict=True) if s["errors"]]
    if errors:
        ttft.scatter(*zip(*errors, strict=True), color="red", marker="x", label="errors in the interval")
    ttft.set(ylabel="seconds", xlabel="minutes", title="time to first token (per sample interval)")
    meta = report["run"]
    for ax in (rss, red, queue, ttft):
        ax.axvline(meta["warmup_s"] / 60, color="grey", linestyle=":", linewidth=1)
        ax.axvline(meta["duration_s"] / 60, color="grey", linestyle="--", linewidth=1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    title = f"soak: Poisson {meta['rate']:g} req/s, {meta['max_tokens']} tokens each (dotted: warm-up ends; dashed: load ends)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path
