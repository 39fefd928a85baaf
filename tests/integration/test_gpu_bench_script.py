"""The GPU benchmark script, shrunk to two tiny layers on the CPU, so it is known to run when a GPU is lent."""

import json
import subprocess
import sys


def test_gpu_bench_runs_tiny_on_cpu(config, tmp_path):
    out = tmp_path / "gpu.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtest.inprocess.gpu_bench",
            "--tiny",
            "--tokenizer",
            config.model.source().path,
            "--levels",
            "1",
            "3",
            "--prompt-tokens",
            "16",
            "--max-tokens",
            "4",
            "--out",
            str(out),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    runs = json.loads(out.read_text())["runs"]
    assert {(r["weights"], r["concurrency"]) for r in runs} >= {("bf16", 1), ("bf16", 3)}
    assert all(r["output_tokens_per_s"] > 0 and r["ttft_ms"]["p95"] >= r["ttft_ms"]["p50"] > 0 for r in runs)
