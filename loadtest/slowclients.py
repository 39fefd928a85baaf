"""Slow clients against ordinary ones: what N connections trickling a request at one byte a second
do to the latency of ordinary requests. Run it against an API you started (`llmjobs api`, or the
whole stack), with the key of a tenant when keys are set:

    python -m loadtest.slowclients --url http://127.0.0.1:8000 --api-key KEY --mode headers --out slow.json

1. Idle: ``--probes`` clients poll a job (``GET /v1/jobs/<id>``, one Redis round trip) in a closed
   loop for ``--duration`` seconds; their latency is the baseline.
2. Attack: ``--connections`` sockets each send a request one byte every ``1/--rate`` seconds:
   ``headers`` never finishes its headers; ``body`` sends whole headers announcing a 100 kB JSON
   body, then trickles the body. A connection the server closes is opened again at once, so the
   attacker keeps its count. After ``--ramp`` seconds the same probes run for ``--duration`` seconds.

It prints and writes p50/p95/p99 of both phases, their ratio, the probes' errors, and what the
server did with the slow connections (how many it closed, after how long, how many stayed open).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from loadtest.report import write_json
from loadtest.stats import distribution, percentile

BODY_BYTES = 100_000


class SlowStats:
    def __init__(self) -> None:
        self.opened = 0
        self.server_closed = 0
        self.connect_errors = 0
        self.open_now = 0
        self.lifetimes: list[float] = []  # seconds from connect until the server closed it


def slow_request(mode: str, host: str, api_key: str | None) -> tuple[bytes, itertools.cycle | bytes]:
    """What to send at once, then what to trickle forever (headers mode never ends its headers)."""
    auth = f"Authorization: Bearer {api_key}\r\n" if api_key else ""
    if mode == "headers":
        return b"", itertools.cycle(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n".encode() + b"X-Pad: a\r\n" * 1000)
    head = f"POST /v1/jobs HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {BODY_BYTES}\r\n\r\n"
    return head.encode(), itertools.cycle(b'{"prompt": "' + b"a" * (BODY_BYTES - 14) + b'"}')


async def trickle(host: str, port: int, mode: str, api_key: str | None, interval_s: float, stats: SlowStats, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            stats.connect_errors += 1
            await asyncio.sleep(1)
            continue
        stats.opened += 1
        stats.open_now += 1
        started = time.monotonic()
        closed = asyncio.ensure_future(reader.read(1 << 16))  # done when the server answers or hangs up
        head, tail = slow_request(mode, host, api_key)
        try:
            writer.write(head)
            for byte in tail:
                if stop.is_set() or closed.done():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.wait([closed], timeout=interval_s)
        except (ConnectionError, OSError):
            pass
        finally:
            stats.open_now -= 1
            if not stop.is_set():
                stats.server_closed += 1
                stats.lifetimes.append(time.monotonic() - started)
            closed.cancel()
            writer.close()


async def probe(url: str, job_id: str, headers: dict[str, str], concurrency: int, duration_s: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + duration_s
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:

        async def loop() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(f"/v1/jobs/{job_id}")
                    if response.status_code != 200:
                        errors[f"http_{response.status_code}"] = errors.get(f"http_{response.status_code}", 0) + 1
                        continue
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return {"requests": len(latencies), "latency_s": distribution(latencies), "errors": errors}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    submitted = httpx.post(f"{args.url}/v1/jobs", json={"prompt": "Say hi.", "max_tokens": 4}, headers=headers, timeout=30)
    submitted.raise_for_status()
    job_id = submitted.json()["id"]
    idle = await probe(args.url, job_id, headers, args.probes, args.duration)
    parts = urlsplit(args.url)
    stats, stop = SlowStats(), asyncio.Event()
    slow = []
    for _ in range(args.connections):  # opened over about a second, as a botnet's would not all land at once
        slow.append(asyncio.ensure_future(trickle(parts.hostname, parts.port or 80, args.mode, args.api_key, 1 / args.rate, stats, stop)))
        await asyncio.sleep(1 / args.connections)
    await asyncio.sleep(args.ramp)
    open_samples: list[int] = []

    async def sample_open() -> None:
        while not stop.is_set():
            open_samples.append(stats.open_now)
            await asyncio.sleep(1)

    sampler = asyncio.ensure_future(sample_open())
    attack = await probe(args.url, job_id, headers, args.probes, args.duration)
    stop.set()
    await asyncio.gather(*slow, sampler, return_exceptions=True)
    ratio = attack["latency_s"]["p95"] / idle["latency_s"]["p95"] if attack["latency_s"] and idle["latency_s"] else None
    return {
        "config": {k: v for k, v in vars(args).items() if k not in ("api_key", "out")},
        "idle": idle,
        "attack": attack,
        "p95_ratio": round(ratio, 3) if ratio else None,
        "slow_connections": {
            "opened": stats.opened,
            "closed_by_server": stats.server_closed,
            "connect_errors": stats.connect_errors,
            "open_during_probes_median": statistics.median(open_samples) if open_samples else 0,
            "lifetime_s_p50": round(percentile(stats.lifetimes, 50), 3) if stats.lifetimes else None,
            "lifetime_s_max": round(max(stats.lifetimes), 3) if stats.lifetimes else None,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.slowclients", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", help="a tenant's key, when the API has keys")
    parser.add_argument("--mode", choices=["headers", "body"], default="headers")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1.0, help="bytes per second per slow connection")
    parser.add_argument("--probes", type=int, default=4, help="ordinary clients polling in a closed loop")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of probing, idle and under attack")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds between opening the slow connections and probing")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    idle, attack = report["idle"]["latency_s"], report["attack"]["latency_s"]
    print(f"mode {args.mode}: {args.connections} slow connections at {args.rate:g} B/s")
    for phase, dist in (("idle", idle), ("attack", attack)):
        figures = "  ".join(f"{q} {dist[q] * 1e3:.1f} ms" for q in ("p50", "p95", "p99"))
        print(f"  {phase:6} {figures}  ({report[phase]['requests']} requests, errors {report[phase]['errors'] or 'none'})")
    print(f"  p95 ratio {report['p95_ratio']}x; slow connections: {report['slow_connections']}")
    if args.out:
        write_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
