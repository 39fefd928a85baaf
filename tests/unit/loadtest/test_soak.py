"""The soak run's figures from a series of samples, and its plot (no stack involved)."""

import pytest

from loadtest.soak import growth
from loadtest.soak_plot import plot
from loadtest.soak_probe import RedisProbe


def series(rss_at, minutes: int = 30, step_s: float = 15) -> list[dict]:
    samples = []
    for i in range(int(minutes * 60 / step_s) + 1):
        t = i * step_s
        samples.append({
            "t": t,
            "processes": {"worker": {"rss_mib": rss_at(t), "pss_mib": rss_at(t)}},
            "redis": {"used_memory_mib": 1.0, "event_streams": 3, "queue_depth": 0, "running": 2},
            "ended": 1, "errors": 1 if i == 5 else 0, "ttft_p50_s": 0.2, "ttft_p95_s": 0.3,
        })  # fmt: skip
    return samples


def test_growth_leaves_out_the_warm_up_and_compares_the_two_ends():
    warm_then_flat = series(lambda t: 1000 + min(t, 200))  # grows 200 MiB in warm-up, then flat
    figure = growth(warm_then_flat, "worker", warmup_s=300, window_s=300, end_s=1800)
    assert figure["growth_pct"] == pytest.approx(0) and figure["trend_mib_per_h"] == pytest.approx(0, abs=1e-6)
    leaking = series(lambda t: 1000 + t / 36)  # 100 MiB an hour
    figure = growth(leaking, "worker", warmup_s=300, window_s=300, end_s=1800)
    assert figure["trend_mib_per_h"] == pytest.approx(100)
    assert figure["rss_end_mib"] - figure["rss_start_mib"] == pytest.approx(1200 / 36, rel=0.05)  # window means 1,200 s apart
    assert growth(leaking, "api-1", warmup_s=300, window_s=300, end_s=1800) is None  # no such process


def test_redis_keys_are_told_apart_by_kind():
    probe = RedisProbe.__new__(RedisProbe)
    probe.prefix = "llmjobs"
    assert probe.kind_of("llmjobs:job:3f0c") == "job"
    assert probe.kind_of("llmjobs:events:3f0c") == "events"
    assert probe.kind_of("_kombu.binding.llmjobs.generate") == "(_kombu.binding.llmjobs.generate)"


def test_plot_writes_a_small_png(tmp_path):
    report = {"run": {"warmup_s": 300, "duration_s": 1500, "rate": 1.5, "max_tokens": 128}, "series": series(lambda t: 1000)}
    path = plot(report, tmp_path / "soak.png")
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size < 200_000
