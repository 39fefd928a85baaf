"""Pure logic of the benchmark tool: percentiles, Poisson arrivals, compare, the OpenAI stream parser."""

import json
import statistics

import pytest

from loadtest import compare, workloads
from loadtest.cli import main
from loadtest.modes import poisson_schedule
from loadtest.openai_stream import BadStream, StreamState, feed_line
from loadtest.stats import Sample, percentile, summarize
from loadtest.targets import Target


def test_percentile_interpolates_like_numpy():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 0) == 1 and percentile(values, 100) == 10
    assert percentile([7], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


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


def report(tok_s, ttft_p95, error_rate=0.0):
    summary = {"requests_per_s": 1.0, "output_tokens_per_s": tok_s, "error_rate": error_rate, "ttft_s": {"p50": 0.1, "p95": ttft_p95}, "itl_s": None, "tpot_s": None, "e2e_s": None}
    return {"runs": [{"target": "a", "mode": "concurrent", "level": 32, "summary": summary}]}


def test_compare_known_pair():
    rows = {r["figure"]: r for r in compare.compare(report(100.0, 0.5), report(80.0, 0.54), threshold_pct=10)}
    assert rows["output_tokens_per_s"]["change_pct"] == pytest.approx(-20.0)
    assert rows["output_tokens_per_s"]["regression"]
    assert rows["ttft_s.p95"]["change_pct"] == pytest.approx(8.0)
    assert not rows["ttft_s.p95"]["regression"]  # worse, but within the threshold
    assert not rows["requests_per_s"]["regression"]
    assert "itl_s.p50" not in rows


def test_compare_cli_gates(tmp_path, capsys):
    before, after = tmp_path / "a.json", tmp_path / "b.json"
    before.write_text(json.dumps(report(100.0, 0.5)))
    after.write_text(json.dumps(report(130.0, 0.9)))
    assert main(["compare", str(before), str(after)]) == 0
    assert main(["compare", str(before), str(after), "--gate"]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["compare", str(before), str(before), "--gate"]) == 0


RECORDED_CHAT = [
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}',
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


@pytest.mark.parametrize("argv", [["run"], ["run", "--target", "nope:http://x"], ["run", "--target", "llmjobs:http://x", "--levels", "0"], ["run", "--target", "llmjobs:http://x", "--mode", "turbo"], ["frobnicate"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize("name", workloads.NAMES)
def test_workloads_are_seeded(name):
    items = workloads.load(name, seed=3)
    assert items == workloads.load(name, seed=3) and items
    assert all(item["messages"][-1]["role"] == "user" for item in items)
