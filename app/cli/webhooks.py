"""``llmjobs webhooks``: run the webhook deliverer (``worker``), list the deliveries given up on (``failed``), and try
one again (``redeliver``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from app.cli.commands import webhook_worker_command
from app.config import Config
from app.redis_conn import connect
from app.webhooks.outbox import Outbox


def add_parser(sub: argparse._SubParsersAction) -> None:
    hooks = sub.add_parser("webhooks", help="webhooks: `worker` delivers them, `failed` lists those given up, `redeliver ID` retries one")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    hooks_sub.add_parser("worker", help="run one webhook delivery worker (Celery, gevent pool)")
    failed = hooks_sub.add_parser("failed", help="the events whose delivery was given up on, newest first, as JSON lines")
    failed.add_argument("--tenant", help="only this tenant's (default: every tenant's)")
    failed.add_argument("--limit", type=int, default=100)
    again = hooks_sub.add_parser("redeliver", help="try an ended event again now (its webhook-id stays the same)")
    again.add_argument("event_id", help="msg_<job or batch id>")


def run(args: argparse.Namespace, config: Config) -> int:
    if args.webhooks_command == "worker":
        os.execv(sys.executable, webhook_worker_command(config))
    outbox = Outbox(connect(config.redis), config.redis.key_prefix)
    if args.webhooks_command == "failed":
        for event in outbox.failed(args.tenant, args.limit):
            shown = {name: event[name] for name in ("id", "type", "tenant", "url", "at", "attempts")}
            print(json.dumps(shown))
        return 0
    event = outbox.get(args.event_id)
    if event is None:
        print(f"llmjobs: no webhook event {args.event_id!r}", file=sys.stderr)
        return 1
    state = outbox.redeliver(args.event_id, event["tenant"], time.time())
    print(f"{args.event_id}: {state}")
    return 0
