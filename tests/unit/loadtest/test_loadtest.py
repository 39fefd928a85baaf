"""Pure logic of the benchmark tools: the shared percentile and closed loop, Poisson arrivals, compare,
the OpenAI stream parser, and old reports still reading."""

import asyncio
import importlib
import json
import statistics
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from loadtest import compare, modes, report, workloads
from loadtest.cli import main
from loadtest.driver import closed_loop, closed_loop_async
from loadtest.inprocess.driver import drive
from loadtest.modes import poisson_schedule
from loadtest.openai_stream import BadStream, StreamState, feed_line
from loadtest.stats import Sample, percentile, summarize
from loadtest.targets import Params, Target

OLD_REPORTS = sorted(p for p in (Path(__file__).parents[3] / "docs" / "benchmarks").glob("*/*.json") if "meta" in json.loads(p.read_text()))


def test_percentile_interpolates_like_numpy():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 0) == 1 and percentile(values, 100) == 10
    assert percentile([7], 95) == 7
    assert percentile(iter([3.0, 1.0, 2.0]), 50) == 2.0  # any iterable, in any order
    cuts = statistics.quantiles(values, n=100, method="inclusive")  # the same method, by the standard library
    assert [percentile(values, q) for q in range(1, 100)] == pytest.approx(cuts)
    with pytest.raises(ValueError):
        percentile([], 50)


class InFlight:
    """Counts calls in flight; ``Barrier(group)`` passes only when ``group`` calls run at once."""

    def __init__(self, group: int) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(group, timeout=10)

    def __call__(self, item: int) -> int:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        self.barrier.wait()
        with self.lock:
            self.now -= 1
        return item * 10


def test_closed_loop_keeps_exactly_concurrency_in_flight_and_the_order():
    calls = InFlight(group=3)
    assert closed_loop(range(6), 3, calls) == [0, 10, 20, 30, 40, 50]
    assert calls.peak == 3
    assert closed_loop([], 4, calls) == []


def test_closed_loop_raises_a_failed_call():
    def fn(item: int) -> int:
        if item == 2:
            raise RuntimeError("request 2 failed")
        return item

    with pytest.raises(RuntimeError, match="request 2"):
        closed_loop(range(4), 2, fn)


def test_closed_loop_async_keeps_exactly_concurrency_in_flight_and_the_order():
    async def scenario() -> tuple[list[int], int]:
        barrier, state = asyncio.Barrier(2), {"now": 0, "peak": 0}

        async def fn(item: int) -> int:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            await asyncio.wait_for(barrier.wait(), 10)
            state["now"] -= 1
            return -item

        return await closed_loop_async(range(4), 2, fn), state["peak"]

    assert asyncio.run(scenario()) == ([0, -1, -2, -3], 2)


@pytest.mark.parametrize(("mode", "peak"), [("single", 1), ("concurrent", 2), ("batch", 4)])
def test_http_modes_are_the_closed_loop_at_their_level(mode, peak):
    state = {"now": 0, "peak": 0}

    class FakeTarget:
        async def send(self, client, item, params, index, run_start):
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0)  # let every admitted request start before any ends
            state["now"] -= 1
            return Sample("fake", index, 0.0, True, output_tokens=item["n"])

    items = [{"n": n} for n in range(4)]
    samples, wall = asyncio.run(modes.run(mode, FakeTarget(), None, items, Params(), concurrency=2))
    assert [s.index for s in samples] == [0, 1, 2, 3] and [s.output_tokens for s in samples] == [0, 1, 2, 3]
    assert state["peak"] == peak and wall >= 0


class FakeEngine:
    device = "cpu"

    def generate(self, request, on_delta=None):
        for _ in request.input_ids:
            on_delta(None)
        return SimpleNamespace(completion_tokens=len(request.input_ids))


def test_drive_times_each_request_in_order():
    requests = [SimpleNamespace(input_ids=[1] * n) for n in (3, 0, 2)]
    run = drive(FakeEngine(), requests, concurrency=2)
    assert [t.tokens for t in run.timings] == [3, 0, 2] and run.tokens == 5
    assert run.timings[1].ttft_s is None  # nothing generated: no first token
    assert all(0 <= t.ttft_s <= t.total_s <= run.wall_s for t in (run.timings[0], run.timings[2]))
    assert run.tokens_per_s == pytest.approx(5 / run.wall_s)


@pytest.mark.parametrize(
    "name", ["engine_bench", "spec_bench", "quality", "prefix_bench", "cache_bench", "cache_eval", "gpu_bench", "lora_bench"]
)
def test_inprocess_benchmarks_answer_help(name, capsys):
    with pytest.raises(SystemExit) as info:
        importlib.import_module(f"loadtest.inprocess.{name}").main(["--help"])
    assert info.value.code == 0
    assert f"python -m loadtest.inprocess.{name}" in capsys.readouterr().out


@pytest.mark.parametrize("path", OLD_REPORTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_old_reports_still_read_and_summarize_alike(path):
    old = json.loads(path.read_text())
    assert report.table(old)
    assert not any(row["regression"] or row["change_pct"] for row in compare.compare(old, old))
    for run in old["runs"]:
        samples = [Sample(**sample) for sample in run["samples"]]
        again = summarize(samples, run["summary"]["wall_s"])
        for figure in ("ttft_s", "itl_s", "tpot_s", "e2e_s"):
            assert again[figure] == (pytest.approx(run["summary"][figure], abs=2e-6) if run["summary"][figure] else None)


def test_summary_counts_and_rates():
    ok = Sample("t", 0, 0.0, True, ttft_s=0.1, e2e_s=1.1, token_times_s=[0.1, 0.2, 0.4], output_tokens=3)
    bad = Sample("t", 1, 0.1, False, error="http_503")
    timeout = Sample("t", 2, 0.2, False, error="timeout")
    summary = summarize([ok, bad, timeout], wall_s=2.0)
    assert summary["requests"] == 3 and summary["succeeded"] == 1 and summary["failed"] == 2
    assert summary["errors"] == {"http_503": 1, "timeout": 1}
    assert summary["error_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert summary["output_tokens_per_s"] == 1.5 and summary["requests_per_s"] == 0.5
    assert summary["itl_s"]["p50"] == pytest.approx(0.15)
    assert summary["tpot_s"]["mean"] == pytest.approx(0.5)
    assert summary["cache_hit_share"] is None


def test_poisson_schedule_is_seeded_and_has_the_right_rate():
    a = poisson_schedule(rate=5, duration_s=400, seed=1)
    assert a == poisson_schedule(rate=5, duration_s=400, seed=1)
    assert a != poisson_schedule(rate=5, duration_s=400, seed=2)
    assert all(0 < x < 400 for x in a) and a == sorted(a)
    assert len(a) / 400 == pytest.approx(5, rel=0.05)
    gaps = [b - a for a, b in zip(a, a[1:], strict=False)]
    assert statistics.fmean(gaps) == pytest.approx(0.2, rel=0.05)
    assert statistics.stdev(gaps) == pytest.approx(0.2, rel=0.1)  # exponential: sd equals the mean


def fake_report(tok_s, ttft_p95, error_rate=0.0):
    summary = {
        "requests_per_s": 1.0,
        "output_tokens_per_s": tok_s,
        "error_rate": error_rate,
        "ttft_s": {"p50": 0.1, "p95": ttft_p95},
        "itl_s": None,
        "tpot_s": None,
        "e2e_s": None,
    }
    return {"runs": [{"target": "a", "mode": "concurrent", "level": 32, "summary": summary}]}


def test_compare_known_pair():
    rows = {r["figure"]: r for r in compare.compare(fake_report(100.0, 0.5), fake_report(80.0, 0.54), threshold_pct=10)}
    assert rows["output_tokens_per_s"]["change_pct"] == pytest.approx(-20.0)
    assert rows["output_tokens_per_s"]["regression"]
    assert rows["ttft_s.p95"]["change_pct"] == pytest.approx(8.0)
    assert not rows["ttft_s.p95"]["regression"]  # worse, but within the threshold
    assert not rows["requests_per_s"]["regression"]
    assert "itl_s.p50" not in rows


def test_compare_cli_gates(tmp_path, capsys):
    before, after = tmp_path / "a.json", tmp_path / "b.json"
    before.write_text(json.dumps(fake_report(100.0, 0.5)))
    after.write_text(json.dumps(fake_report(130.0, 0.9)))
    assert main(["compare", str(before), str(after)]) == 0
    assert main(["compare", str(before), str(after), "--gate"]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["compare", str(before), str(before), "--gate"]) == 0


RECORDED_CHAT = [
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    '"finish_reason":null}]}',
    "",
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"The"},"finish_reason":null}]}',
    ": keep-alive",
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" capital"},"finish_reason":null}]}',
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}',
    "data: [DONE]",
]


def test_openai_stream_parser_on_a_recorded_chat_stream():
    state = StreamState()
    added = [feed_line(state, line) for line in RECORDED_CHAT]
    assert [a for a in added if a] == ["The", " capital"]
    assert state.finish_reason == "stop" and state.done
    assert state.usage["completion_tokens"] == 2


def test_openai_stream_parser_on_completions_and_errors():
    state = StreamState()
    feed_line(state, 'data: {"choices":[{"text":" Paris","index":0,"finish_reason":null}]}')
    feed_line(state, 'data: {"error":{"message":"boom","type":"server_error"}}')
    assert state.text_chunks == [" Paris"] and state.error == "boom"
    with pytest.raises(BadStream):
        feed_line(StreamState(), "<html>502 Bad Gateway</html>")
    with pytest.raises(BadStream):
        feed_line(StreamState(), "data: {not json")


def test_target_specs():
    target = Target.parse("ours=openai-chat:http://127.0.0.1:8000/v1/")
    assert (target.name, target.kind, target.url) == ("ours", "openai-chat", "http://127.0.0.1:8000/v1")
    assert Target.parse("llmjobs:http://h:1").name == "llmjobs@h:1"
    for bad in ("vllm:http://h", "llmjobs:ftp://h", "llmjobs", "llmjobs:http://"):
        with pytest.raises(ValueError):
            Target.parse(bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["run", "--target", "nope:http://x"],
        ["run", "--target", "llmjobs:http://x", "--levels", "0"],
        ["run", "--target", "llmjobs:http://x", "--mode", "turbo"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize("name", workloads.NAMES)
def test_workloads_are_seeded(name):
    items = workloads.load(name, seed=3)
    assert items == workloads.load(name, seed=3) and items
    assert all(item["messages"][-1]["role"] == "user" for item in items)
