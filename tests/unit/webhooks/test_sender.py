"""One attempt over real loopback sockets: signed per Standard Webhooks, redirects not followed, the address checked
when the connection is made (DNS rebinding), failures reported rather than raised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.cli.embedded_redis import free_port
from app.webhooks.guarded_backend import GuardedBackend
from app.webhooks.sender import Sender
from app.webhooks.url_policy import AllowList
from loadtest.webhook_receiver import HANG, Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(free_port(), SECRET).start()
    yield receiver
    receiver.stop()


def test_a_signed_call_that_the_receivers_library_verifies(receiver):
    with Sender(AllowList.parse(f"127.0.0.1:{receiver.port}"), timeout_s=5) as sender:
        attempt = sender.send(receiver.url("ok"), "msg_1", b'{"type":"job.succeeded"}', SECRET)
        assert attempt.ok and attempt.status_code == 204
        (delivery,) = receiver.received("ok")
        assert delivery.payload == {"type": "job.succeeded"}, delivery.error
        assert delivery.headers["webhook-id"] == "msg_1"
        assert delivery.headers["content-type"] == "application/json"
        assert sender.send(receiver.url("bad"), "msg_2", b"{}", "whsec_" + "QUFB" * 8).status_code == 401  # signed with another secret


def test_a_redirect_is_a_failed_attempt_and_a_410_asks_to_stop(receiver):
    receiver.plan("moved", 302)
    receiver.plan("gone", 410)
    with Sender(AllowList.parse(f"127.0.0.1:{receiver.port}"), timeout_s=5) as sender:
        moved = sender.send(receiver.url("moved"), "msg_1", b"{}", SECRET)
        assert moved.status_code == 302 and not moved.ok
        gone = sender.send(receiver.url("gone"), "msg_1", b"{}", SECRET)
        assert gone.gone and not gone.ok


def test_timeouts_and_refused_connections_are_reported(receiver):
    allow = AllowList.parse(f"127.0.0.1:{receiver.port}")
    receiver.plan("slow", (HANG, 2))
    with Sender(allow, timeout_s=0.3) as sender:
        slow = sender.send(receiver.url("slow"), "msg_1", b"{}", SECRET)
    assert slow.error == "no answer within 0.3 s" and slow.duration_s < 1.5
    receiver.stop()
    with Sender(allow, timeout_s=2) as sender:
        refused = sender.send(receiver.url("slow"), "msg_1", b"{}", SECRET)
    assert refused.status_code is None and "Connect" in refused.error


def test_a_name_that_now_resolves_to_loopback_is_refused_at_connect_time(receiver):
    with Sender(AllowList(), timeout_s=2) as sender:
        sender.pool._network_backend = GuardedBackend(AllowList(), resolve=lambda host, port: ["127.0.0.1"])  # rebound
        attempt = sender.send(f"http://hooks.example.com:{receiver.port}/x", "msg_1", b"{}", SECRET)
    assert attempt.error.startswith("refused: host 'hooks.example.com' resolves to 127.0.0.1")
    assert receiver.received("x") == []  # never connected


def test_the_backend_tries_the_next_address_of_a_name(receiver):
    allow = AllowList.parse("127.0.0.0/8")
    with Sender(allow, timeout_s=2) as sender:
        sender.pool._network_backend = GuardedBackend(allow, resolve=lambda host, _: ["127.0.0.2", "127.0.0.1"])  # nothing on .2
        assert sender.send(f"http://two.example.com:{receiver.port}/x", "msg_1", b"{}", SECRET).ok
