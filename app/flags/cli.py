"""``llmjobs flags list | set NAME VALUE | rollback NAME | reset``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from app.config import Config
from app.flags.store import FLAGS, FlagError, FlagStore
from app.redis_conn import Keys, connect


def add_parser(sub: argparse._SubParsersAction) -> None:
    flags = sub.add_parser("flags", help="list or change the rollback switches (applied live by every worker and API process)")
    verbs = flags.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="each switch, its value, where the value comes from, and what each process applied")
    for verb, about in (("set", "override a switch"), ("rollback", "turn one optimization off")):
        parser = verbs.add_parser(verb, help=about)
        parser.add_argument("name", choices=sorted(FLAGS), metavar="NAME")
        if verb == "set":
            parser.add_argument("value")
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="wait up to this long until every live process applied it, and print how long that took",
        )
    verbs.add_parser("reset", help="drop every override: back to configuration")


def run(args: argparse.Namespace, config: Config) -> int:
    store = FlagStore(connect(config.redis), Keys(config.redis.key_prefix), config)
    try:
        if args.verb == "list":
            print(render(store))
            return 0
        if args.verb == "reset":
            store.reset()
            print("flags: every override dropped; each switch follows configuration again")
            return 0
        started = time.time()
        value = store.rollback(args.name) if args.verb == "rollback" else _set(store, args.name, args.value)
        print(f"flags: {args.name} = {value}")
        if args.wait:
            return _wait(store, args.name, value, started, args.wait)
        return 0
    except FlagError as exc:
        print(f"llmjobs: {exc}; nothing changed", file=sys.stderr)
        return 2


def _set(store: FlagStore, name: str, value: str) -> str:
    store.set(name, value)
    return value


def _wait(store: FlagStore, name: str, value: str, started: float, timeout_s: float) -> int:
    """Until every live process that applies ``name`` reports ``value`` (or a failure)."""
    where = FLAGS[name].where
    while time.time() - started < timeout_s:
        reports = {pid: r for pid, r in store.reports().items() if r["role"] == where}
        states = [r["flags"].get(name, {}) for r in reports.values()]
        if reports and all(s.get("value") == value or s.get("error") for s in states):
            failed = [pid for pid, s in zip(reports, states, strict=True) if s.get("value") != value]
            applied_at = max(s.get("at", started) for s in states)
            applied = f"{len(reports) - len(failed)}/{len(reports)} {where} process(es)"
            print(f"flags: {name}={value} applied by {applied} in {applied_at - started:.2f} s")
            return 1 if failed else 0
        time.sleep(0.1)
    print(f"flags: not every {where} process applied {name}={value} within {timeout_s:g} s")
    return 1


def render(store: FlagStore) -> str:
    lines = [f"{'flag':<16}{'value':<18}{'source':<10}{'applies':<8}meaning"]
    for name, (value, source) in store.effective().items():
        flag = FLAGS[name]
        lines.append(f"{name:<16}{value:<18}{source:<10}{flag.how:<8}{flag.meaning}")
    reports = store.reports()
    if reports:
        lines.append("")
        lines.append("applied by:")
    for process, report in sorted(reports.items()):
        for name, state in sorted(report["flags"].items()):
            at = datetime.fromtimestamp(state["at"]).strftime("%H:%M:%S")
            failure = f"  FAILED: {state['error']}" if state.get("error") else ""
            lines.append(f"  {process:<40}{name:<16}{state['value']:<18}since {at}{failure}")
    return "\n".join(lines)
