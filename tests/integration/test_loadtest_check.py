"""`python -m loadtest run --check` against the real local stack, and a target that is down."""

import json
import subprocess
import sys

import pytest

from app.cli.embedded_redis import free_port

pytestmark = pytest.mark.usefixtures("worker")


def test_check_run_against_the_stack(api_url, stack_env, tmp_path):
    out = tmp_path / "check.json"
    command = [
        sys.executable,
        "-m",
        "loadtest",
        "run",
        "--check",
        "--no-progress",
        "--target",
        f"llmjobs:{api_url}",
        "--target",
        f"openai-chat:{api_url}/v1",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, env=stack_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check passed" in result.stdout
    report = json.loads(out.read_text())
    assert {run["kind"] for run in report["runs"]} == {"llmjobs", "openai-chat"}
    for run in report["runs"]:
        assert run["summary"]["requests"] == run["summary"]["succeeded"] == len(run["samples"]) == 4
    assert report["runs"][0]["summary"]["worker_memory"][0]["peak_rss_bytes"] > 0


def test_unreachable_target_is_counted_not_crashed(stack_env):
    url = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "loadtest", "run", "--no-progress", "--warmup", "0", "--requests", "3", "--target", f"llmjobs:{url}"]
    result = subprocess.run(command, env=stack_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "'connect': 3" in result.stdout
