"""Prometheus metrics from the real stack: the worker's own port and the API's /metrics
(gunicorn, prometheus-client multiprocess mode)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.prometheus import sample

pytestmark = pytest.mark.usefixtures("worker")


def test_worker_and_api_metrics_count_jobs(http, config, france, wait_for_job):
    for _ in range(2):
        job_id = http.post("/v1/jobs", json={"prompt": france, "temperature": 0, "max_tokens": 8}).json()["id"]
        assert wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)["status"] == "succeeded"
    worker = httpx.get(f"http://{config.api.host}:{config.worker.metrics_port}/metrics", timeout=10).text
    assert sample(worker, "llmjobs_time_to_first_token_seconds_count") >= 2
    assert sample(worker, "llmjobs_inter_token_latency_seconds_count") >= 2
    assert sample(worker, "llmjobs_e2e_request_latency_seconds_count") >= 2
    assert sample(worker, "llmjobs_request_queue_time_seconds_count") >= 2
    assert sample(worker, "llmjobs_requests_total", status="succeeded") >= 2
    assert sample(worker, "llmjobs_generation_tokens_total") >= 16
    assert sample(worker, "llmjobs_worker_rss_bytes") > 10_000_000
    for gauge in ("llmjobs_num_requests_running", "llmjobs_num_requests_waiting", "llmjobs_kv_cache_usage_perc", "llmjobs_batch_size"):
        assert f"\n{gauge} " in worker
    assert sample(worker, "llmjobs_prefix_cache_queries_total") >= 2
    assert sample(worker, "llmjobs_model_info", engine="batching", device="cpu", quantization="fp16-weights", attention="sdpa") == 1

    api = http.get("/metrics")
    assert api.status_code == 200 and api.headers["content-type"].startswith("text/plain")
    assert sample(api.text, "llmjobs_jobs_submitted_total", served_by="queue") >= 2
    assert sample(api.text, "llmjobs_cache_lookups_total", tier="none", result="skipped") >= 2  # this stack runs with the cache off
    assert "llmjobs_queue_depth " in api.text and sample(api.text, "llmjobs_workers_live") >= 1
