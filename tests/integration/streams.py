"""Small clients for the tests: read a job's SSE stream or WebSocket into a list of events."""

from __future__ import annotations

import json

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def read_sse(response: httpx.Response) -> list[dict]:
    """Parse a text/event-stream body into events, checking each frame's id matches its index."""
    events, frame = [], {}
    for line in response.iter_lines():
        if line.startswith("id: "):
            frame["id"] = int(line[4:])
        elif line.startswith("event: "):
            frame["event"] = line[7:]
        elif line.startswith("data: "):
            frame["data"] = json.loads(line[6:])
        elif line == "" and "data" in frame:
            event = frame["data"]
            assert frame["id"] == event["index"] and frame["event"] == event["type"]
            events.append(event)
            frame = {}
    return events


def sse_events(http: httpx.Client, job_id: str, last_event_id: int | None = None) -> list[dict]:
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    with http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=120) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_sse(response)


def ws_events(base_url: str, job_id: str, query: str = "") -> list[dict]:
    # websockets' client, not simple-websocket's: simple-websocket 1.1 leaves frames that arrive in the same read as the
    # handshake reply in its parser's buffer, and drops them when the server closes right after (a finished job's replay).
    url = base_url.replace("http://", "ws://") + f"/v1/jobs/{job_id}/ws{query}"
    events: list[dict] = []
    with connect(url, open_timeout=30, close_timeout=5) as ws:
        try:
            while True:
                events.append(json.loads(ws.recv(timeout=120)))  # TimeoutError: the WebSocket went quiet
                if events[-1]["type"] == "final":
                    return events
        except ConnectionClosed:
            return events


def check_complete(events: list[dict]) -> dict:
    """Indices run 0..n without gaps, the last event is the only final one; return it."""
    assert [e["index"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events].count("final") == 1 and events[-1]["type"] == "final"
    final = events[-1]
    assert "".join(e["text"] for e in events[:-1]) == (final["output"] or "")
    return final
