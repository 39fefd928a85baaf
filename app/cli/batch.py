"""``llmjobs batch run FILE.jsonl [--endpoint ...] [--wait]``: upload a file of requests, create a batch
over it, and with ``--wait`` follow its progress (a tqdm bar of request_counts) and write its output
and error files next to the input (``FILE.output.jsonl``, ``FILE.errors.jsonl``). It talks to the API
over HTTP, as any client does (httpx; the openai package is not a dependency of the server)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx
from tqdm import tqdm

from app.batches.record import ENDPOINTS
from app.config import Config

ENDED = ("completed", "failed", "expired", "cancelled")
POLL_S = 1.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    batch = sub.add_parser("batch", help="run a JSONL file of requests as a batch (OpenAI's Batch API)")
    actions = batch.add_subparsers(dest="batch_command", required=True)
    run = actions.add_parser("run", help="upload FILE, create a batch, optionally wait and download its results")
    run.add_argument("file", type=Path)
    run.add_argument("--endpoint", choices=ENDPOINTS, default="/v1/chat/completions")
    run.add_argument("--wait", action="store_true", help="follow the batch to its end and write its output files beside FILE")
    run.add_argument("--url", help="the API's base URL (default: http://LLMJOBS_HOST:LLMJOBS_PORT)")
    run.add_argument("--api-key", default="", help="a key of LLMJOBS_API_KEYS, where keys are set")


def run(args: argparse.Namespace, config: Config) -> int:
    base = args.url or f"http://{config.api.host}:{config.api.port}"
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=base.rstrip("/"), headers=headers, timeout=60) as client:
        try:
            return run_batch(client, args.file, args.endpoint, args.wait)
        except httpx.HTTPError as exc:
            print(f"llmjobs batch: {exc}", file=sys.stderr)
            return 1


def run_batch(client: httpx.Client, path: Path, endpoint: str, wait: bool) -> int:
    with path.open("rb") as source:
        uploaded = client.post("/v1/files", data={"purpose": "batch"}, files={"file": (path.name, source, "application/jsonl")})
    if uploaded.status_code != 200:
        return _refused("upload", uploaded)
    created = client.post("/v1/batches", json={"input_file_id": uploaded.json()["id"], "endpoint": endpoint, "completion_window": "24h"})
    if created.status_code != 200:
        return _refused("batch", created)
    batch = created.json()
    print(f"batch {batch['id']} ({batch['status']})")
    if not wait:
        return 0
    with tqdm(total=None, unit="line", desc=batch["id"][:18]) as bar:
        while batch["status"] not in ENDED:
            time.sleep(POLL_S)
            batch = client.get(f"/v1/batches/{batch['id']}").raise_for_status().json()
            counts = batch["request_counts"]
            bar.total = counts["total"] or None
            bar.n = counts["completed"] + counts["failed"]
            bar.set_postfix(status=batch["status"], failed=counts["failed"])
            bar.refresh()
    for key, suffix in (("output_file_id", "output"), ("error_file_id", "errors")):
        if batch.get(key):
            target = path.with_name(f"{path.stem}.{suffix}.jsonl")
            with client.stream("GET", f"/v1/files/{batch[key]}/content") as response, target.open("wb") as out:
                for chunk in response.raise_for_status().iter_bytes():
                    out.write(chunk)
            print(f"{suffix}: {target}")
    for error in (batch.get("errors") or {}).get("data", []):
        print(f"line {error.get('line')}: {error.get('code')}: {error.get('message')}", file=sys.stderr)
    print(f"batch {batch['id']} {batch['status']}: {batch['request_counts']}")
    return 0 if batch["status"] == "completed" else 1


def _refused(what: str, response: httpx.Response) -> int:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:300]
    print(f"llmjobs batch: the {what} was refused ({response.status_code}): {message}", file=sys.stderr)
    return 1
