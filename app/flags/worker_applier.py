"""Applying rollback switches inside a worker process.

A poll thread reads the effective flags about once a second. ``prefix_cache`` and
``speculative`` go straight to the engine (between two steps); a value the engine cannot run
(``draft-model`` with no draft model loaded) is reported and not retried until the flag
changes. ``batching``, ``runner``, ``quantization`` and ``attention`` need a new engine: the gate
closes (task threads wait before claiming their next job, so new jobs stay queued), in-flight
requests finish, the new engine is built (``batching`` and ``runner`` reuse the loaded weights;
the others load the model again), and the gate reopens. If building fails the old engine keeps serving, the
failure is reported (``flags list``, the log), and the same value is not retried until the flag
changes again: no crash loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from app.config import Config
from app.engine import Engine, engine_for, make_engine
from app.flags.gate import Gate
from app.flags.store import FLAGS, FlagStore, poll_forever

log = logging.getLogger(__name__)

# Switches an engine takes between two steps, and how.
LIVE_SWITCHES: dict[str, Callable[[Engine, str], None]] = {
    "prefix_cache": lambda engine, value: engine.set_prefix_cache(value == "on"),
    "speculative": lambda engine, value: engine.set_speculative(value),
}
RELOAD_FLAGS = tuple(name for name, flag in FLAGS.items() if flag.where == "worker" and flag.how == "reload")


def configs_for(config: Config, flags: dict[str, str]) -> Config:
    """The configuration with the worker's switches applied. ``prefix_cache`` keeps the
    configured size: the live switch turns reuse on and off, so it can come back on."""
    worker = replace(
        config.worker,
        engine="batching" if flags["batching"] == "on" else "naive",
        runner=flags["runner"],
        # draft-model without a draft is refused by the engine's live switch (and reported), not here
        speculative=flags["speculative"]
        if flags["speculative"] != "draft-model" or config.model.draft_model
        else config.worker.speculative,
    )
    model = replace(config.model, quantization=flags["quantization"], attention=flags["attention"])
    return replace(config, worker=worker, model=model)


class WorkerFlagApplier:
    def __init__(
        self,
        store: FlagStore,
        config: Config,
        process_id: str,
        gate: Gate,
        get_engine: Callable[[], Engine],
        set_engine: Callable[[Engine], None],
        initial: dict[str, str],
        fixed: bool = False,
    ) -> None:
        self.store = store
        self.config = config
        self.process_id = process_id
        self.gate = gate
        self.get_engine = get_engine
        self.set_engine = set_engine
        # What the running engine was built with.
        self.applied: dict[str, dict[str, Any]] = {
            name: {"value": initial[name], "at": time.time()} for name in FLAGS if FLAGS[name].where == "worker"
        }
        self._failed: dict[str, str] = {}  # flag -> the value that could not be applied
        # Tensor parallel: the other ranks hold their own shard and runner state, so switches that
        # rebuild the engine or change the runner's prefix cache would need every rank: refused.
        self.fixed = fixed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmjobs-flags", daemon=True)

    def start(self) -> WorkerFlagApplier:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        poll_forever(self.poll_once, self._stop)

    def poll_once(self) -> None:
        wanted = {name: value for name, (value, _) in self.store.effective().items() if FLAGS[name].where == "worker"}
        if self.fixed:
            for name in (*RELOAD_FLAGS, "prefix_cache"):
                if wanted[name] != self.applied[name]["value"]:
                    self.applied[name] = {
                        **self.applied[name],
                        "error": f"{wanted[name]!r} not applied: a tensor-parallel worker keeps its engine",
                    }
                    wanted[name] = self.applied[name]["value"]
                else:
                    self.applied[name].pop("error", None)
        for name in self.applied:  # set back to what runs: forget an earlier failure
            if wanted[name] == self.applied[name]["value"] and self._failed.pop(name, None) is not None:
                self.applied[name] = {"value": wanted[name], "at": self.applied[name]["at"]}
        for name, apply in LIVE_SWITCHES.items():
            if wanted[name] != self.applied[name]["value"] and self._failed.get(name) != wanted[name]:
                try:
                    apply(self.get_engine(), wanted[name])
                except ValueError as exc:  # a value this engine cannot run: keep the current one, say why
                    log.error("flag %s=%s not applied: %s", name, wanted[name], exc)
                    self._failed[name] = wanted[name]
                    self.applied[name] = {**self.applied[name], "error": f"{wanted[name]!r} failed: {exc}", "failed_at": time.time()}
                    continue
                self._failed.pop(name, None)
                self.applied[name] = {"value": wanted[name], "at": time.time()}
                log.info("flag %s=%s applied", name, wanted[name])
        changed = [n for n in RELOAD_FLAGS if wanted[n] != self.applied[n]["value"] and self._failed.get(n) != wanted[n]]
        if changed:
            self._rebuild(wanted, changed)
        self.store.report(self.process_id, "worker", self.applied)

    def _rebuild(self, wanted: dict[str, str], changed: list[str]) -> None:
        target = {name: wanted[name] if name in changed else self.applied[name]["value"] for name in self.applied}
        config = configs_for(self.config, target)
        started = time.monotonic()
        with self.gate.drained():
            old = self.get_engine()
            new = None
            try:
                if set(changed) <= {"batching", "runner"}:  # same weights, another engine around them
                    new = engine_for(
                        config.worker,
                        old.model,
                        old.tokenizer,
                        device=old.device,
                        model_name=old.model_name,
                        context_length=old.context_length,
                        draft_model=old.draft_model,
                    )
                else:
                    new = make_engine(config.model, config.worker)
                for name, apply in LIVE_SWITCHES.items():
                    apply(new, target[name])
            except Exception as exc:  # any load failure: keep serving with what works
                if new is not None:
                    new.close()
                log.error(
                    "flags %s could not be applied, keeping the current engine: %s", ", ".join(f"{n}={wanted[n]}" for n in changed), exc
                )
                for name in changed:
                    self._failed[name] = wanted[name]
                    self.applied[name] = {**self.applied[name], "error": f"{wanted[name]!r} failed: {exc}", "failed_at": time.time()}
                return
            self.set_engine(new)
            self.gate.set_capacity(None if target["batching"] == "on" else 1)
            old.close()
        now = time.time()
        for name in changed:
            self._failed.pop(name, None)
            self.applied[name] = {"value": wanted[name], "at": now}
        log.info("flags %s applied in %.2f s (drain + rebuild)", ", ".join(f"{n}={wanted[n]}" for n in changed), time.monotonic() - started)
