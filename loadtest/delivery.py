"""Token delivery overhead: time from the worker publishing a token event to an SSE client reading it.

Each token event carries the worker's publish time (``ts``); clients on the same
machine subtract it from their receive time. N clients follow one job; only
events published after a client connected count (replayed ones measure history,
not delivery).

The clients are deliberately lean: raw HTTP/1.0 sockets (the server then streams
without chunked framing) multiplexed with ``selectors`` in one thread. A
full-featured client library spends more time parsing 100 streams than the
server spends delivering them, and on a 2-core machine that cost would be
measured as delivery latency.

    python -m loadtest.delivery --url http://127.0.0.1:8000 --streams 1 100
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import statistics
import sys
import time
from urllib.parse import urlsplit

import httpx

from loadtest.stats import percentile


class _Stream:
    def __init__(self, host: str, port: int, path: str) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.sock.setblocking(False)
        self.connected_at = time.time()
        self.buffer = b""
        self.samples: list[float] = []
        self.done = False
        self.status_checked = False

    def feed(self, data: bytes, received: float) -> None:
        self.buffer += data
        if not self.status_checked and b"\r\n" in self.buffer:
            status_line = self.buffer.split(b"\r\n", 1)[0]
            if b" 200 " not in status_line:
                raise RuntimeError(f"stream answered {status_line.decode(errors='replace')}")
            self.status_checked = True
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[6:])
            if event["type"] == "final":
                self.done = True
                return
            if event["ts"] > self.connected_at:
                self.samples.append(received - event["ts"])


def measure(url: str, streams: int, max_tokens: int, timeout_s: float = 600) -> dict:
    response = httpx.post(
        f"{url}/v1/jobs",
        json={"prompt": "Write a long story about the sea.", "temperature": 0, "max_tokens": max_tokens, "cache": False},
        timeout=30,
    )
    response.raise_for_status()
    job_id = response.json()["id"]
    parts = urlsplit(url)
    selector = selectors.DefaultSelector()
    clients, errors = [], []
    for _ in range(streams):
        client = _Stream(parts.hostname, parts.port or 80, f"/v1/jobs/{job_id}/events")
        selector.register(client.sock, selectors.EVENT_READ, client)
        clients.append(client)
    deadline = time.monotonic() + timeout_s
    open_streams = streams
    while open_streams and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=5):
            client = key.data
            try:
                data = client.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                data, client.done = b"", True
                errors.append(f"{type(exc).__name__}: {exc}")
            received = time.time()
            try:
                if data:
                    client.feed(data, received)
            except (RuntimeError, ValueError) as exc:
                errors.append(str(exc))
                client.done = True
            if not data and not client.done:
                errors.append("stream closed before its final event")
                client.done = True
            if client.done:
                selector.unregister(client.sock)
                client.sock.close()
                open_streams -= 1
    if open_streams:
        errors.append(f"{open_streams} streams did not finish within {timeout_s:g} s")
    samples = [s * 1000 for client in clients for s in client.samples]
    result: dict = {"streams": streams, "events": len(samples), "errors": errors}
    if samples:
        result.update(
            p50_ms=round(percentile(samples, 50), 2),
            p95_ms=round(percentile(samples, 95), 2),
            p99_ms=round(percentile(samples, 99), 2),
            max_ms=round(max(samples), 2),
            mean_ms=round(statistics.fmean(samples), 2),
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.delivery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="llmjobs API base URL")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 100], help="concurrent SSE clients per run")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens the followed job generates")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.streams) or args.max_tokens < 1:
        parser.error("--streams and --max-tokens must be positive")
    results = []
    for streams in args.streams:
        result = measure(args.url, streams, args.max_tokens)
        results.append(result)
        print(
            f"{streams:>4} streams: {result['events']:>6} events  p50 {result.get('p50_ms', '-')} ms  p95 {result.get('p95_ms', '-')} ms  "
            f"p99 {result.get('p99_ms', '-')} ms  max {result.get('max_ms', '-')} ms  errors {len(result['errors'])}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    return 0 if all(not r["errors"] and r["events"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
