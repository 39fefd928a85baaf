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
            "loadtest",
            "gpu",
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
            "--seed-load",
            "6",
            "8",
            "2",
            "--graph-batches",
            "1",
            "2",
            "--out",
            str(out),
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )
    report = json.loads(out.read_text())
    runs = report["runs"]
    assert {(r["weights"], r["concurrency"]) for r in runs} >= {("fp16", 1), ("fp16", 3), ("bf16", 3)}
    assert all(r["output_tokens_per_s"] > 0 and r["ttft_ms"]["p95"] >= r["ttft_ms"]["p50"] > 0 for r in runs)
    assert all(s["requests"] == 6 and s["requests_per_s"] > 0 for s in report["seed_load"])
    assert {(g["weights"], g["batch"]) for g in report["cuda_graphs"]} >= {("fp16", 1), ("fp16", 2)}
    assert all(g["eager_ms"] > 0 and "graph_ms" not in g for g in report["cuda_graphs"])  # the capture needs CUDA
    assert report["against_targets"]["targets"] == {"ttft_p95_ms": 500, "requests_per_s": 100, "peak_vram_gb_4bit": 16}
