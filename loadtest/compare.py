"""Comparing two reports figure by figure, and flagging regressions."""

from __future__ import annotations

from typing import Any

# figure -> True when higher is better
FIGURES: dict[str, bool] = {
    "requests_per_s": True,
    "output_tokens_per_s": True,
    "error_rate": False,
    "ttft_s.p50": False,
    "ttft_s.p95": False,
    "itl_s.p50": False,
    "itl_s.p95": False,
    "tpot_s.p50": False,
    "e2e_s.p50": False,
    "e2e_s.p95": False,
}


def _figure(summary: dict[str, Any], name: str) -> float | None:
    head, _, tail = name.partition(".")
    value = summary.get(head)
    if tail:
        value = (value or {}).get(tail)
    return value


def compare(before: dict[str, Any], after: dict[str, Any], threshold_pct: float = 10.0) -> list[dict[str, Any]]:
    """One row per figure of each (target, mode, level) run found in both reports."""
    index = {(r["target"], r["mode"], r["level"]): r["summary"] for r in before["runs"]}
    rows = []
    for run in after["runs"]:
        key = (run["target"], run["mode"], run["level"])
        if key not in index:
            continue
        for name, higher_is_better in FIGURES.items():
            a, b = _figure(index[key], name), _figure(run["summary"], name)
            if a is None or b is None:
                continue
            change = (b - a) / a * 100 if a else (0.0 if b == a else float("inf"))
            worse = -change if higher_is_better else change
            rows.append(
                {
                    "target": key[0],
                    "mode": key[1],
                    "level": key[2],
                    "figure": name,
                    "before": a,
                    "after": b,
                    "change_pct": change,
                    "regression": worse > threshold_pct,
                }
            )
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'target':<24} {'mode':<10} {'level':>5}  {'figure':<20} {'before':>12} {'after':>12} {'change':>9}"]
    for r in rows:
        mark = "  REGRESSION" if r["regression"] else ""
        run = f"{r['target']:<24} {r['mode']:<10} {r['level']:>5g}"
        lines.append(f"{run}  {r['figure']:<20} {r['before']:>12.4g} {r['after']:>12.4g} {r['change_pct']:>+8.1f}%{mark}")
    return "\n".join(lines)
