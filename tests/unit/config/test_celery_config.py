"""The Celery settings that keep jobs safe (no broker connection needed)."""

from app.config import load_config
from workers.celery_app import GENERATE_TASK, make_celery


def test_reliability_settings():
    config = load_config({"LLMJOBS_PREFETCH_MULTIPLIER": "4", "LLMJOBS_TASK_TIME_LIMIT": "100", "LLMJOBS_JOB_TTL": "3600"})
    conf = make_celery(config).conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_ignore_result and not conf.result_backend  # job records hold the results
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 4
    assert conf.task_routes[GENERATE_TASK] == {"queue": "llmjobs.generate"}
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit > 100
