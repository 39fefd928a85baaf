"""A queued job whose task message was lost (handed by BRPOP to a worker's connection as the worker died) is sent
again once the broker holds no message for its queue; never while one may still start it. Real Redis."""

from __future__ import annotations

from app.jobs.resend import RestartResender, StrandedJobs


def stranded_check(job_store, keys, messages: int, now: float) -> tuple[StrandedJobs, list[str]]:
    sent: list[str] = []
    resender = RestartResender(job_store.redis, keys, lambda job_id, priority: sent.append(job_id))
    return StrandedJobs(job_store.redis, keys, resender, lambda job_id: messages, after_s=5.0, clock=lambda: now), sent


def test_a_queued_job_with_no_message_anywhere_is_sent_again(job_store, keys):
    job = job_store.create({"prompt": "hi", "priority": 0}, tenant="t-stranded", model="m-stranded")
    try:
        young, sent = stranded_check(job_store, keys, messages=0, now=job["created_at"] + 1)
        assert young.check_once() == [] and sent == []  # a job just created: its message may be on its way
        held, sent = stranded_check(job_store, keys, messages=1, now=job["created_at"] + 60)
        assert held.check_once() == [] and sent == []  # its queue (or unacked) holds a message: a worker will take it
        lost, sent = stranded_check(job_store, keys, messages=0, now=job["created_at"] + 60)
        assert job["id"] in lost.check_once() and job["id"] in sent
    finally:
        job_store.discard(job["id"])
