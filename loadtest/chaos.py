"""Faults as behaviour: run `llmjobs up` on its own Redis and ports, stream greedy jobs through it,
break something mid-generation, and count what clients saw.

    python -m loadtest.chaos --scenario worker-kill --rounds 20 --jobs 12 --json out.json
    python -m loadtest.chaos --scenario redis-kill --rounds 3      # also api-kill, network-blip

Each job is followed over SSE by a client that reconnects with ``Last-Event-ID`` whenever its
connection breaks, as a browser's EventSource does. A round reports jobs accepted / succeeded /
lost (not succeeded within the deadline), token indices missing or seen twice, outputs that
differ from an uninterrupted greedy run of the same prompts, and each job's time from the fault
to its end. The quick subset in tests/integration/test_faults.py uses the same code.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loadtest.chaos_stack import Stack
from loadtest.report import write_json
from loadtest.stats import percentile

SCENARIOS = ("worker-kill", "redis-kill", "api-kill", "network-blip")
BLIP_S = 5.0  # how long the network to Redis stays cut

PROMPTS = [
    "Name three rivers in Europe.",
    "What is the capital of France? Answer in one sentence.",
    "Write a haiku about the sea.",
    "Explain what a CPU does in two sentences.",
    "List four colours of the rainbow.",
    "What is 12 times 12?",
]


@dataclass
class Followed:
    """What one client saw of one job."""

    job_id: str
    indices: list[int] = field(default_factory=list)
    text: str = ""
    final: dict | None = None
    ended_at: float | None = None
    reconnects: int = 0


def follow(base_url: str, job_id: str, deadline: float, headers: dict[str, str] | None = None) -> Followed:
    """Read the job's SSE stream to its final event, resuming after the last index on any break."""
    seen = Followed(job_id)
    while time.monotonic() < deadline and seen.final is None:
        resume = {"Last-Event-ID": str(seen.indices[-1])} if seen.indices else {}
        try:
            with httpx.stream("GET", f"{base_url}/v1/jobs/{job_id}/events", headers={**(headers or {}), **resume}, timeout=30) as response:
                if response.status_code != 200:
                    raise httpx.TransportError(f"status {response.status_code}")
                for line in response.iter_lines():
                    if time.monotonic() > deadline:  # keep-alives arrive every few seconds: a stuck job ends here, not never
                        break
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        seen.indices.append(event["index"])
                        if event["type"] == "final":
                            seen.final, seen.ended_at = event, time.monotonic()
                        else:
                            seen.text += event["text"]
        except httpx.HTTPError:
            seen.reconnects += 1
            time.sleep(0.2)
    return seen


def submit(base_url: str, prompt: str, max_tokens: int) -> str:
    body = {"prompt": prompt, "temperature": 0, "max_tokens": max_tokens, "cache": False}
    response = httpx.post(f"{base_url}/v1/jobs", json=body, timeout=10)
    response.raise_for_status()
    return response.json()["id"]


def run_round(stack: Stack, prompts: list[str], max_tokens: int, fault: str | None, deadline_s: float = 120) -> dict:
    """Submit every prompt, follow each job, inject ``fault`` once tokens flow; return the figures."""
    ids = [submit(stack.base_url, prompt, max_tokens) for prompt in prompts]
    results: dict[str, Followed] = {}
    deadline = time.monotonic() + deadline_s
    threads = [threading.Thread(target=lambda j=j: results.__setitem__(j, follow(stack.base_url, j, deadline))) for j in ids]
    for thread in threads:
        thread.start()
    fault_at, outage = None, {}
    if fault is not None:
        time.sleep(1.5)  # the fault lands mid-generation: a few tokens in, most still to come
        fault_at = time.monotonic()
        outage = inject(stack, fault)
    for thread in threads:
        thread.join()
    return {"ids": ids, "followed": results, "fault_at": fault_at, **outage}


def inject(stack: Stack, fault: str) -> dict:
    if fault == "worker-kill":
        os.kill(stack.worker_pid(), signal.SIGKILL)
        return {}
    if fault == "redis-kill":
        os.kill(stack.redis_pid(), signal.SIGKILL)
        return probe_outage(stack)
    if fault == "api-kill":
        for pid in stack.api_worker_pids():
            os.kill(pid, signal.SIGKILL)
        return {}
    if fault == "network-blip":
        assert stack.proxy is not None, "network-blip needs Stack(proxied=True)"
        stack.proxy.blip(BLIP_S)
        return {}
    raise ValueError(f"unknown fault {fault!r}")


def probe_outage(stack: Stack) -> dict:
    """During the outage a submit answers 503 with Retry-After, fast; then how soon a new job runs."""
    started = time.monotonic()
    answers = []
    while time.monotonic() - started < 30:
        t0 = time.monotonic()
        try:
            response = httpx.post(f"{stack.base_url}/v1/jobs", json={"prompt": "Say hi.", "max_tokens": 4, "cache": False}, timeout=5)
            answers.append({"status": response.status_code, "retry_after": response.headers.get("Retry-After"), "s": time.monotonic() - t0})
        except httpx.HTTPError as exc:
            answers.append({"status": type(exc).__name__, "s": time.monotonic() - t0})
        if answers[-1]["status"] == 202:
            job_id = response.json()["id"]
            final = follow(stack.base_url, job_id, time.monotonic() + 60).final
            return {
                "outage_answers": answers[:-1],
                "new_job_ran_after_s": time.monotonic() - started,
                "new_job": (final or {}).get("status"),
            }
        time.sleep(0.2)
    return {"outage_answers": answers, "new_job_ran_after_s": None}


def judge(round_: dict, reference: dict[str, str]) -> dict:
    """Lost, gaps, duplicates, wrong outputs and recovery times of a round."""
    followed: dict[str, Followed] = round_["followed"]
    by_prompt = dict(zip(round_["ids"], round_.get("prompts", []), strict=False))
    gaps = dups = wrong = 0
    recoveries = []
    for job_id, seen in followed.items():
        dups += len(seen.indices) - len(set(seen.indices))
        gaps += (max(seen.indices) + 1 - len(set(seen.indices))) if seen.indices else 0
        ok = seen.final is not None and seen.final["status"] == "succeeded"
        if ok and by_prompt and seen.final["output"] != reference.get(by_prompt[job_id], seen.final["output"]):
            wrong += 1
        if ok and round_["fault_at"] is not None:
            recoveries.append(seen.ended_at - round_["fault_at"])
    succeeded = sum(1 for s in followed.values() if s.final is not None and s.final["status"] == "succeeded")
    return {
        "accepted": len(followed),
        "succeeded": succeeded,
        "lost": len(followed) - succeeded,
        "gaps": gaps,
        "duplicates": dups,
        "wrong_outputs": wrong,
        "reconnects": sum(s.reconnects for s in followed.values()),
        "fault_to_end_p95_s": round(percentile(recoveries, 95), 2) if recoveries else None,
        "fault_to_end_max_s": round(max(recoveries), 2) if recoveries else None,
    }


def run(scenario: str, rounds: int, jobs: int, max_tokens: int) -> dict:
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(jobs)]
    with tempfile.TemporaryDirectory(prefix="llmjobs-chaos-") as folder:
        stack = Stack(Path(folder), proxied=scenario == "network-blip")
        try:
            clean = run_round(stack, prompts, max_tokens, fault=None)
            reference = {prompt: clean["followed"][job_id].final["output"] for job_id, prompt in zip(clean["ids"], prompts, strict=True)}
            report = {"scenario": scenario, "jobs": jobs, "max_tokens": max_tokens, "rounds": []}
            for _ in range(rounds):
                round_ = run_round(stack, prompts, max_tokens, fault=scenario)
                round_["prompts"] = prompts
                figures = judge(round_, reference)
                figures.update({k: v for k, v in round_.items() if k in ("outage_answers", "new_job_ran_after_s", "new_job")})
                report["rounds"].append(figures)
                print(json.dumps(figures), flush=True)
                stack.wait_ready(120)  # the supervisor brought the killed part back
            restarts = httpx.get(f"{stack.base_url}/metrics", timeout=5).text
            report["restarts_metric"] = [line for line in restarts.splitlines() if line.startswith("llmjobs_process_restarts_total")]
            return report
        finally:
            stack.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m loadtest.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="worker-kill")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = run(args.scenario, args.rounds, args.jobs, args.max_tokens)
    totals = {
        key: sum(r[key] for r in report["rounds"]) for key in ("accepted", "succeeded", "lost", "gaps", "duplicates", "wrong_outputs")
    }
    report["totals"] = totals
    print(json.dumps(totals))
    if args.json:
        write_json(report, args.json)
    return 0 if totals["lost"] == totals["gaps"] == totals["duplicates"] == totals["wrong_outputs"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
