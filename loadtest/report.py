"""Turning a report into a table, a JSON file and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _ms(dist: dict[str, float] | None, key: str) -> str:
    return f"{dist[key] * 1000:.0f}" if dist else "-"


def table(report: dict[str, Any]) -> str:
    """A plain-text table: one row per target and level, ratios against the first target."""
    header = (
        "target",
        "mode",
        "level",
        "req",
        "ok",
        "err%",
        "req/s",
        "out tok/s",
        "x first",
        "TTFT p50",
        "TTFT p95",
        "ITL p50",
        "ITL p95",
        "TPOT p50",
        "E2E p50",
        "E2E p95",
        "cache%",
        "peak RSS MB",
    )
    rows = [header]
    first_by_level: dict[float, float] = {}
    for run in report["runs"]:
        s = run["summary"]
        first = first_by_level.setdefault(run["level"], s["output_tokens_per_s"])
        memory = s.get("worker_memory") or []
        peak = max((w.get("peak_rss_bytes", 0) for w in memory), default=0)
        rows.append((
            run["target"], run["mode"], f"{run['level']:g}", str(s["requests"]), str(s["succeeded"]),
            f"{s['error_rate'] * 100:.1f}", f"{s['requests_per_s']:.2f}", f"{s['output_tokens_per_s']:.1f}",
            f"{s['output_tokens_per_s'] / first:.2f}" if first else "-",
            _ms(s["ttft_s"], "p50"), _ms(s["ttft_s"], "p95"), _ms(s["itl_s"], "p50"), _ms(s["itl_s"], "p95"),
            _ms(s["tpot_s"], "p50"), _ms(s["e2e_s"], "p50"), _ms(s["e2e_s"], "p95"),
            f"{s['cache_hit_share'] * 100:.0f}" if s["cache_hit_share"] is not None else "-",
            f"{peak / 2**20:.0f}" if peak else "-",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    errors = [f"{run['target']} @ {run['level']:g}: {run['summary']['errors']}" for run in report["runs"] if run["summary"]["errors"]]
    footer = "latencies in ms; 'x first' = output tok/s against the first target at that level"
    return "\n".join(lines + ([""] + ["errors " + e for e in errors] if errors else []) + [footer])


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


def plot(report: dict[str, Any], folder: Path) -> list[Path]:
    """Latency CDFs per target, and throughput and TTFT p95 against the level. Returns the files."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to PNG
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    mode = report["meta"]["mode"]
    for metric, label in (("ttft_s", "time to first token (s)"), ("e2e_s", "end-to-end latency (s)")):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for run in report["runs"]:
            values = sorted(s[metric] for s in run["samples"] if s["ok"] and s[metric] is not None)
            if values:
                fractions = [0.0] + [(i + 1) / len(values) for i in range(len(values))]
                ax.step([values[0], *values], fractions, where="post", label=f"{run['target']} @ {run['level']:g}")
        ax.set(xlabel=label, ylabel="fraction of requests", title=f"{label} CDF · {mode}")
        written.append(_save(plt, fig, [ax], folder / f"{mode}_{metric}_cdf.png"))
    levels = sorted({run["level"] for run in report["runs"]})
    if len(levels) > 1:
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
        for name in dict.fromkeys(run["target"] for run in report["runs"]):
            runs = sorted((r for r in report["runs"] if r["target"] == name), key=lambda r: r["level"])
            left.plot([r["level"] for r in runs], [r["summary"]["output_tokens_per_s"] for r in runs], marker="o", label=name)
            right.plot([r["level"] for r in runs], [(r["summary"]["ttft_s"] or {}).get("p95") for r in runs], marker="o", label=name)
        axis = "arrival rate (req/s)" if mode == "rate" else "concurrency"
        left.set(xlabel=axis, ylabel="output tokens/s", title="throughput")
        right.set(xlabel=axis, ylabel="TTFT p95 (s)", title="time to first token, p95")
        written.append(_save(plt, fig, [left, right], folder / f"{mode}_by_level.png"))
    return written


def _save(plt: Any, fig: Any, axes: list[Any], path: Path) -> Path:
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
