"""The series the alerting rules read (deploy/alerts.yml) come out of the API's /metrics with real values."""

import re

import pytest

pytestmark = pytest.mark.usefixtures("worker")


def value(metrics: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", metrics, flags=re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_jobs_started_and_redis_memory_are_exported(http, france, wait_for_job):
    before = value(http.get("/metrics").text, "llmjobs_jobs_started_total")
    job_id = http.post("/v1/jobs", json={"prompt": france, "max_tokens": 4, "cache": False}).json()["id"]
    wait_for_job(lambda j: http.get(f"/v1/jobs/{j}").json(), job_id)
    metrics = http.get("/metrics").text
    assert value(metrics, "llmjobs_jobs_started_total") >= before + 1
    used, limit = value(metrics, "llmjobs_redis_used_memory_bytes"), value(metrics, "llmjobs_redis_total_system_memory_bytes")
    assert 0 < used < limit
    assert value(metrics, "llmjobs_redis_maxmemory_bytes") >= 0
