"""Resending queued jobs' tasks after a Redis restart (pure logic over a stand-in client)."""

from app.jobs.record import queue_score
from app.jobs.resend import RestartResender
from app.redis_conn import Keys


class _Redis:
    def __init__(self) -> None:
        self.run_id = "first"
        self.queued = [("a", queue_score(5, 100.0)), ("b", queue_score(0, 101.0))]

    def info(self, section: str) -> dict:
        assert section == "server"
        return {"run_id": self.run_id}

    def zrange(self, key: str, start: int, end: int, withscores: bool = False) -> list:
        assert key == Keys("t").queued and withscores
        return self.queued


def test_only_a_restart_resends_and_each_queued_job_at_its_priority():
    client, sent = _Redis(), []
    resender = RestartResender(client, Keys("t"), lambda job_id, priority: sent.append((job_id, priority)))
    assert resender.check_once() == [] and resender.check_once() == []  # first sight, then the same server
    client.run_id = "second"
    assert resender.check_once() == ["a", "b"]
    assert sent == [("a", 5), ("b", 0)]
    assert resender.check_once() == [] and resender.num_resent == 2


def test_a_failed_send_is_retried_at_the_next_call():
    client, sent = _Redis(), []

    def flaky(job_id: str, priority: int) -> None:
        if not sent:
            sent.append("failed")
            raise ConnectionError("broker away")
        sent.append(job_id)

    resender = RestartResender(client, Keys("t"), flaky)
    resender.check_once()
    client.run_id = "second"
    try:
        resender.check_once()
    except ConnectionError:
        pass
    assert resender.check_once() == ["a", "b"] and sent == ["failed", "a", "b"]
