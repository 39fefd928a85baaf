"""``python -m loadtest run|compare`` (also ``llmjobs bench``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loadtest import compare, report, workloads
from loadtest.modes import MODES
from loadtest.runner import Plan, run
from loadtest.targets import KINDS, Params, Target

EXAMPLES = """\
examples:
  python -m loadtest run --target llmjobs:http://127.0.0.1:8000 --mode concurrent --levels 1 8 32 --requests 64
  python -m loadtest run --target ours=openai-chat:http://127.0.0.1:8000/v1 --target llamacpp=openai-chat:http://127.0.0.1:8080/v1 \\
      --mode concurrent --levels 32 --requests 64 --max-tokens 128 --ignore-eos --out results/peer.json
  python -m loadtest run --target llmjobs:http://127.0.0.1:8000 --mode rate --levels 1 --duration 60
  python -m loadtest compare results/before.json results/after.json --threshold 10 --gate
"""


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Benchmark llmjobs and OpenAI-compatible servers side by side.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = root.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("run", help="run a benchmark", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="[NAME=]KIND:URL",
        help=f"repeatable; KIND: {', '.join(KINDS)}; OpenAI URLs end in /v1",
    )
    bench.add_argument("--mode", choices=MODES, default="concurrent")
    bench.add_argument("--workload", choices=workloads.NAMES, default="short_chat")
    bench.add_argument("--levels", type=_positive(float), nargs="+", default=[1.0], help="concurrency per run (requests/s in rate mode)")
    bench.add_argument("--requests", type=_positive(int), default=32, help="measured requests per target and level")
    bench.add_argument("--duration", type=_positive(float), default=30.0, help="seconds of arrivals per target and level (rate mode)")
    bench.add_argument("--rounds", type=_positive(int), default=None, help="interleaving rounds (default 2 with several targets, else 1)")
    bench.add_argument("--warmup", type=int, default=2, help="unmeasured requests per target first")
    bench.add_argument("--max-tokens", type=_positive(int), default=128)
    bench.add_argument("--temperature", type=float, default=0.0)
    bench.add_argument("--ignore-eos", action="store_true", help="every request generates exactly --max-tokens (equal work across targets)")
    bench.add_argument("--timeout", type=_positive(float), default=300.0, help="per-request timeout in seconds")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--model", help="model name for OpenAI targets (default: the server's first)")
    bench.add_argument("--api-key", help="bearer key sent to every target")
    bench.add_argument("--out", type=Path, help="JSON report with every sample")
    bench.add_argument("--plots", type=Path, help="folder for PNG plots")
    bench.add_argument("--no-progress", action="store_true")
    bench.add_argument("--check", action="store_true", help="tiny run that checks the report adds up (for tests)")
    sub.add_parser("gpu", help="the seed plan's GPU figures on a Mistral-7B shape (python -m loadtest gpu --help)", add_help=False)
    diff = sub.add_parser("compare", help="compare two JSON reports")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    diff.add_argument("--threshold", type=float, default=10.0, help="percent worse that counts as a regression")
    diff.add_argument("--gate", action="store_true", help="exit 1 if any figure regressed")
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gpu"]:  # its own options: loadtest/inprocess/gpu_bench.py
        from loadtest.inprocess import gpu_bench

        return gpu_bench.main(argv[1:])
    args = parser().parse_args(argv)
    args.argv = argv
    return _compare(args) if args.command == "compare" else _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        targets = [Target.parse(spec) for spec in args.target]
    except ValueError as exc:
        parser().error(str(exc))
    for target in targets:
        target.model, target.api_key = args.model, args.api_key
    if len({t.name for t in targets}) != len(targets):
        parser().error("two targets have the same name: give them NAME=")
    params = Params(max_tokens=args.max_tokens, temperature=args.temperature, ignore_eos=args.ignore_eos, timeout_s=args.timeout)
    plan = Plan(
        targets=targets,
        mode=args.mode,
        workload=args.workload,
        params=params,
        requests=args.requests,
        levels=tuple(args.levels),
        duration_s=args.duration,
        rounds=args.rounds or (2 if len(targets) > 1 else 1),
        warmup=args.warmup,
        seed=args.seed,
    )
    if args.check:
        plan.requests, plan.levels, plan.rounds, plan.warmup, plan.params.max_tokens = 4, (2,), 1, 0, 8
        plan.mode = "concurrent" if plan.mode == "rate" else plan.mode
    result = run(plan, progress=not args.no_progress)
    result["meta"]["command"] = "python -m loadtest " + " ".join(args.argv)
    print(report.table(result))
    if args.out:
        report.write_json(result, args.out)
        print(f"report: {args.out}")
    if args.plots:
        for path in report.plot(result, args.plots):
            print(f"plot: {path}")
    return _check(result, plan) if args.check else 0


def _check(result: dict, plan: Plan) -> int:
    problems = []
    for run_ in result["runs"]:
        s = run_["summary"]
        if not (s["requests"] == s["succeeded"] + s["failed"] == len(run_["samples"]) == plan.requests):
            counts = f"{s['requests']} sent, {s['succeeded']} ok, {s['failed']} failed, {len(run_['samples'])} samples"
            problems.append(f"{run_['target']}: counts do not add up: {counts}")
        if s["failed"]:
            problems.append(f"{run_['target']}: {s['failed']} requests failed: {s['errors']}")
        if s["succeeded"] and not (s["ttft_s"] and s["e2e_s"] and s["output_tokens"] > 0):
            problems.append(f"{run_['target']}: latency or token figures missing")
    if len(result["runs"]) != len(plan.targets) * len(plan.levels):
        problems.append("a run is missing from the report")
    for problem in problems:
        print(f"check failed: {problem}", file=sys.stderr)
    if not problems:
        print("check passed: every request is counted once, all succeeded, figures present")
    return 1 if problems else 0


def _compare(args: argparse.Namespace) -> int:
    try:
        before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    except (OSError, ValueError) as exc:
        print(f"loadtest compare: cannot read the reports: {exc}", file=sys.stderr)
        return 2
    rows = compare.compare(before, after, args.threshold)
    if not rows:
        print("no run appears in both reports (same target name, mode and level)")
        return 2 if args.gate else 0
    print(compare.format_rows(rows))
    regressions = [r for r in rows if r["regression"]]
    print(f"\n{len(regressions)} regression(s) beyond {args.threshold:g}%")
    return 1 if args.gate and regressions else 0
