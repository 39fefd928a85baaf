"""A body that trickles in too slowly gets a 408 instead of holding its connection; others pass intact."""

from __future__ import annotations

import json
import socket

import pytest

from api.body_deadline import BodyDeadline


def echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


@pytest.fixture
def connection():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def call(app, server, headers: dict[str, str]):
    environ = {"gunicorn.socket": server, "wsgi.input": server.makefile("rb"), **headers}
    status = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0], body


def test_a_body_that_stalls_gets_a_408_json_error(connection):
    server, client = connection
    client.sendall(b'{"prompt": "slo')  # 15 of 40 bytes, then nothing
    status, body = call(BodyDeadline(echo, timeout_s=0.2, max_bytes=1024), server, {"CONTENT_LENGTH": "40"})
    assert status.startswith("408")
    assert json.loads(body)["error"]["type"] == "request_timeout"
    assert server.gettimeout() is None  # the socket is left as gunicorn gave it


def test_a_whole_body_reaches_the_app_unchanged(connection):
    server, client = connection
    payload = b'{"prompt": "hello"}' * 100
    client.sendall(payload)
    status, body = call(BodyDeadline(echo, timeout_s=5, max_bytes=1 << 20), server, {"CONTENT_LENGTH": str(len(payload))})
    assert status.startswith("200") and body == payload


def test_requests_without_a_body_or_over_the_limit_are_passed_on_unread(connection):
    server, _ = connection
    seen = []

    def app(environ, start_response):
        seen.append(environ["CONTENT_LENGTH"])
        start_response("204 No Content", [])
        return []

    deadline = BodyDeadline(app, timeout_s=0.2, max_bytes=10)
    assert call(deadline, server, {"CONTENT_LENGTH": ""})[0].startswith("204")
    assert call(deadline, server, {"CONTENT_LENGTH": "11"})[0].startswith("204")  # Flask answers its 413
    assert seen == ["", "11"]
