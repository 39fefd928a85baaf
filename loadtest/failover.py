"""What a Redis Sentinel failover costs: `llmjobs up` on a master, a replica and three sentinels
(loadtest/sentinel_cluster.py), jobs submitted at a steady rate, the master killed with SIGKILL
mid-load, and every accepted job followed to its end.

    python -m loadtest.failover --rate 4 --before 8 --after 12            # asynchronous replication
    python -m loadtest.failover --wait-replicas 1 --json failover.json    # each job WAITs for the replica
    python -m loadtest.failover --fault freeze --freeze 4                 # the master stopped 4 s, then back

A frozen master (SIGSTOP, as in a partition or a long pause) is the case asynchronous replication loses
writes in: the sentinels promote the replica meanwhile, and when the old master resumes it answers the
commands its clients sent while it was stopped, and takes more, until the sentinels make it a replica of
the new master and it drops them all.

Reported: jobs accepted, and among them how many vanished (their record gone: a 404 after the failover)
or never ended (no final status within the deadline), split by whether they were accepted more than
1 s before the kill; submits refused meanwhile (503, which a client retries); how long until the
sentinels named the new master and until a job submitted after the kill succeeded; and process restarts
(the supervisor's count: none means every process followed the failover by itself).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import httpx

from loadtest.chaos_stack import Stack
from loadtest.report import write_json
from loadtest.sentinel_cluster import SentinelCluster

PROMPTS = ["Name three rivers in Europe.", "Write a haiku about the sea.", "What is 12 times 12?", "List four colours of the rainbow."]
TERMINAL = {"succeeded", "failed", "cancelled", "expired"}
EARLY_S = 1.0  # the measure: jobs accepted more than this before the kill


class Load:
    """Submits one job every 1/rate seconds from a thread; remembers when each was accepted."""

    def __init__(self, base_url: str, rate: float, max_tokens: int) -> None:
        self.base_url, self.period, self.max_tokens = base_url, 1.0 / rate, max_tokens
        self.accepted: dict[str, float] = {}  # job id -> when the API answered 202 (monotonic)
        self.refused: list[int | str] = []  # what the other answers were (503, or a transport error)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        n = 0
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                body = {"prompt": PROMPTS[n % len(PROMPTS)], "max_tokens": self.max_tokens, "temperature": 0, "cache": False}
                n += 1
                try:
                    response = http.post("/v1/jobs", json=body)
                    if response.status_code == 202:
                        self.accepted[response.json()["id"]] = time.monotonic()
                    else:
                        self.refused.append(response.status_code)
                except httpx.HTTPError as exc:
                    self.refused.append(type(exc).__name__)
                next_at += self.period
                self._stop.wait(max(0.0, next_at - time.monotonic()))


def outcome(http: httpx.Client, job_id: str) -> tuple[str | None, float | None]:
    """(status, finished_at) of a job; ("vanished", None) when its record is gone; (None, None) while the API cannot say."""
    try:
        response = http.get(f"/v1/jobs/{job_id}")
    except httpx.HTTPError:
        return None, None
    if response.status_code == 404:
        return "vanished", None
    if response.status_code != 200:
        return None, None
    job = response.json()
    return job["status"], job.get("finished_at")


def settle(base_url: str, jobs: list[str], deadline_s: float) -> dict[str, tuple[str | None, float | None]]:
    """Every job's final status (or the last one seen when the deadline passes)."""
    ended: dict[str, tuple[str | None, float | None]] = {}
    deadline = time.monotonic() + deadline_s
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while time.monotonic() < deadline and len(ended) < len(jobs):
            for job_id in jobs:
                if job_id not in ended:
                    found = outcome(http, job_id)
                    if found[0] in TERMINAL or found[0] == "vanished":
                        ended[job_id] = found
            time.sleep(0.5)
        for job_id in jobs:
            ended.setdefault(job_id, outcome(http, job_id))
    return ended


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="llmjobs-failover-") as scratch:
        folder = args.logs or Path(scratch)  # the stack's log (stack.log) and Redis' logs stay there with --logs
        cluster = SentinelCluster(folder / "redis", min_replicas_to_write=args.min_replicas_to_write).start()
        env = {"LLMJOBS_REDIS_URL": cluster.url, "LLMJOBS_REDIS_WAIT_REPLICAS": str(args.wait_replicas), "LLMJOBS_MAX_QUEUED": "0"}
        try:
            stack = Stack(folder, lease_ttl_s=args.lease_ttl, env=env)
        except (RuntimeError, TimeoutError):
            cluster.stop()
            raise
        try:
            load = Load(stack.base_url, args.rate, args.max_tokens).start()
            time.sleep(args.before)
            killed_wall, killed_at = time.time(), time.monotonic()
            old = cluster.kill_master() if args.fault == "kill" else cluster.freeze_master(args.freeze)
            cluster.wait_failover(old, timeout_s=60)
            promoted_s = time.monotonic() - killed_at
            time.sleep(max(0.0, args.after - promoted_s))
            load.stop()
            ended = settle(stack.base_url, list(load.accepted), args.deadline)
            metrics = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
        finally:
            stack.stop()
            cluster.stop()
    early = [j for j, at in load.accepted.items() if at < killed_at - EARLY_S]
    late_after_kill = [j for j, at in load.accepted.items() if at >= killed_at]

    def lost(jobs: list[str]) -> dict[str, int]:
        return {
            "vanished": sum(1 for j in jobs if ended[j][0] == "vanished"),
            "no_final_status": sum(1 for j in jobs if ended[j][0] not in TERMINAL and ended[j][0] != "vanished"),
            "failed": sum(1 for j in jobs if ended[j][0] in TERMINAL - {"succeeded"}),
        }

    first_new = min((ended[j][1] for j in late_after_kill if ended[j][0] == "succeeded" and ended[j][1]), default=None)
    return {
        "fault": args.fault if args.fault == "kill" else f"freeze {args.freeze:g} s",
        "wait_replicas": args.wait_replicas,
        "min_replicas_to_write": args.min_replicas_to_write,
        "rate_per_s": args.rate,
        "accepted": len(load.accepted),
        "accepted_early": len(early),
        "lost_early": lost(early),
        "lost_all": lost(list(load.accepted)),
        "refused_during_failover": {str(k): load.refused.count(k) for k in set(load.refused)},
        "sentinels_promoted_after_s": round(promoted_s, 2),
        "first_new_job_succeeded_after_s": round(first_new - killed_wall, 2) if first_new else None,
        "unreplicated_counted": sum(
            float(line.rpartition(" ")[2]) for line in metrics.splitlines() if line.startswith("llmjobs_jobs_unreplicated_total ")
        ),
        "restarts": [line for line in metrics.splitlines() if line.startswith("llmjobs_process_restarts_total{")],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=4.0, help="jobs submitted per second")
    parser.add_argument("--before", type=float, default=8.0, help="seconds of load before the master is killed")
    parser.add_argument("--after", type=float, default=12.0, help="seconds of load after the kill")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--wait-replicas", type=int, default=0, help="LLMJOBS_REDIS_WAIT_REPLICAS")
    parser.add_argument("--fault", choices=["kill", "freeze"], default="kill", help="SIGKILL the master, or SIGSTOP it for --freeze s")
    parser.add_argument("--freeze", type=float, default=4.0, help="seconds the master stays stopped (past the failover)")
    parser.add_argument("--min-replicas-to-write", type=int, default=0, help="Redis' min-replicas-to-write (max lag 2 s) on both")
    parser.add_argument("--lease-ttl", type=float, default=10.0)
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds the jobs get to end once the load stops")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--logs", type=Path, help="a folder to keep the stack's and Redis' logs in")
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
