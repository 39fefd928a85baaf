"""Rollback switches: one per optimization, each with a default from config and a live override in Redis.

``llmjobs flags set|rollback|reset`` writes overrides to one Redis hash; every worker and API
process re-reads it about once a second (a poll, not pub/sub: a process that was down or lost
its connection simply catches up) and applies what changed: cheap switches between engine
steps or requests, model switches by draining the engine and rebuilding it (app/flag_applier.py
on workers). Each process reports what it applied, when, and any failure, under its own key
with a TTL, which ``flags list`` shows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from app.config import ATTENTION_MODES, QUANTIZATION_MODES, RUNNER_MODES, SPECULATIVE_MODES, Config
from app.redis_conn import Keys

log = logging.getLogger(__name__)

POLL_S = 1.0
REPORT_TTL_S = 30


@dataclass(frozen=True)
class Flag:
    name: str
    choices: tuple[str, ...]
    off: str  # what `rollback` sets
    where: str  # "worker" or "api": the processes that apply it
    how: str  # "live" (between steps or requests) or "reload" (drain, then rebuild the engine)
    meaning: str


FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        Flag(
            "batching", ("on", "off"), "off", "worker", "reload", "continuous batching; off runs the naive engine (one request at a time)"
        ),
        Flag("prefix_cache", ("on", "off"), "off", "worker", "live", "reuse of prompt-prefix KV between requests"),
        Flag("runner", RUNNER_MODES, "transformers", "worker", "reload", "forward pass: lean, llamacpp or transformers (LLMJOBS_RUNNER)"),
        Flag("quantization", QUANTIZATION_MODES, "none", "worker", "reload", "weight format (LLMJOBS_QUANTIZATION)"),
        Flag("attention", ATTENTION_MODES, "eager", "worker", "reload", "attention kernels (LLMJOBS_ATTENTION)"),
        Flag(
            "speculative",
            SPECULATIVE_MODES,
            "off",
            "worker",
            "live",
            "speculative decoding for lone greedy requests: prompt-lookup, or draft-model (needs LLMJOBS_DRAFT_MODEL)",
        ),
        Flag("semantic_cache", ("on", "off"), "off", "api", "live", "the result cache's semantic tier"),
    )
}


class FlagError(ValueError):
    pass


def defaults(config: Config) -> dict[str, str]:
    """Each switch's value from configuration, before any override."""
    return {
        "batching": "on" if config.worker.engine == "batching" else "off",
        "prefix_cache": "on" if config.worker.prefix_cache_tokens > 0 else "off",
        "quantization": config.model.quantization,
        "attention": config.model.attention,
        "semantic_cache": "on" if config.cache.semantic else "off",
        "speculative": config.worker.speculative,
        "runner": config.worker.runner,
    }


def check(name: str, value: str) -> Flag:
    flag = FLAGS.get(name)
    if flag is None:
        raise FlagError(f"unknown flag {name!r}; the flags are: {', '.join(FLAGS)}")
    if value not in flag.choices:
        raise FlagError(f"flag {name!r} takes {', '.join(flag.choices)}; got {value!r}")
    return flag


class FlagStore:
    def __init__(self, client: redis.Redis, keys: Keys, config: Config) -> None:
        self.redis = client
        self.defaults = defaults(config)
        self.key = f"{keys.prefix}:flags"
        self.report_prefix = f"{keys.prefix}:flags:applied:"

    def overrides(self) -> dict[str, str]:
        return {name: value for name, value in self.redis.hgetall(self.key).items() if name in FLAGS}

    def effective(self) -> dict[str, tuple[str, str]]:
        """name -> (value, source): "override" or "config"."""
        overrides = self.overrides()
        return {name: (overrides[name], "override") if name in overrides else (self.defaults[name], "config") for name in FLAGS}

    def set(self, name: str, value: str) -> None:
        check(name, value)
        self.redis.hset(self.key, name, value)

    def rollback(self, name: str) -> str:
        flag = check(name, FLAGS[name].off if name in FLAGS else "")
        self.redis.hset(self.key, name, flag.off)
        return flag.off

    def reset(self) -> None:
        self.redis.delete(self.key)

    # --- what each process applied ---

    def report(self, process_id: str, role: str, applied: dict[str, dict[str, Any]]) -> None:
        body = {"role": role, "at": time.time(), "flags": applied}
        self.redis.set(self.report_prefix + process_id, json.dumps(body), ex=REPORT_TTL_S)

    def reports(self) -> dict[str, dict[str, Any]]:
        keys = list(self.redis.scan_iter(match=self.report_prefix + "*", count=500))
        values = self.redis.mget(keys) if keys else []
        return {key.removeprefix(self.report_prefix): json.loads(value) for key, value in zip(keys, values, strict=True) if value}


def poll_forever(poll: Callable[[], None], stop: threading.Event) -> None:
    """Call ``poll`` now and then every POLL_S until ``stop``; a Redis outage is logged once, then retried quietly."""
    failing = False
    while not stop.is_set():
        try:
            poll()
            failing = False
        except (redis.RedisError, OSError) as exc:
            if not failing:
                log.warning("flags not read (will retry): %s", exc)
            failing = True
        except Exception:  # a bug in applying must not end the poller: later flags still apply
            log.exception("applying flags failed (will retry)")
        stop.wait(POLL_S)
