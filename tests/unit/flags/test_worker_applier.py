"""Applying worker switches: the configuration an engine is built with, and one poll of the
applier against a fake flag store and fake engines (no Redis, no model)."""

from __future__ import annotations

import threading

import pytest

import app.flags.worker_applier as worker_applier
from app.config import load_config
from app.flags.store import FLAGS, defaults
from app.flags.worker_applier import WorkerFlagApplier, configs_for

TIMEOUT_S = 10


def test_prefix_cache_off_keeps_the_size_so_the_live_switch_can_turn_it_back_on():
    config = load_config({"LLMJOBS_PREFIX_CACHE_TOKENS": "4096"})
    built = configs_for(config, {**defaults(config), "prefix_cache": "off"})
    assert built.worker.prefix_cache_tokens == 4096


def test_draft_model_without_a_draft_is_left_to_the_live_switch_to_refuse():
    config = load_config({"LLMJOBS_SPECULATIVE": "prompt-lookup"})
    built = configs_for(config, {**defaults(config), "speculative": "draft-model"})
    assert built.worker.speculative == "prompt-lookup"


def test_reload_flags_reach_the_engine_and_model_configuration():
    config = load_config({})
    built = configs_for(config, {**defaults(config), "batching": "off", "quantization": "int8-dynamic", "attention": "eager"})
    assert built.worker.engine == "naive" and built.model.quantization == "int8-dynamic" and built.model.attention == "eager"


# --- one poll at a time ---


class FakeFlagStore:
    """What the applier uses of a FlagStore: the effective values, and its reports."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)
        self.reports: list[dict] = []

    def effective(self) -> dict[str, tuple[str, str]]:
        return {name: (value, "override") for name, value in self.values.items()}

    def report(self, process_id: str, role: str, applied: dict) -> None:
        assert role == "worker"
        self.reports.append({name: dict(entry) for name, entry in applied.items()})


class FakeEngine:
    """Records the live switches it takes; refuses draft-model without a draft, as engines do."""

    def __init__(self, name: str = "old", draft_model: object = None) -> None:
        self.name = name
        self.model, self.tokenizer, self.device = f"{name}-weights", f"{name}-tokenizer", "cpu"
        self.model_name, self.context_length, self.draft_model = "m", 8192, draft_model
        self.calls: list[tuple[str, object]] = []
        self.closed = False

    def set_prefix_cache(self, enabled: bool) -> None:
        self.calls.append(("prefix_cache", enabled))

    def set_speculative(self, mode: str) -> None:
        self.calls.append(("speculative", mode))
        if mode == "draft-model" and self.draft_model is None:
            raise ValueError("speculative=draft-model needs a draft model: set LLMJOBS_DRAFT_MODEL")

    def close(self) -> None:
        self.closed = True


class Worker:
    """A worker's side of the applier: its current engine and the engines it was handed."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.handed: list[FakeEngine] = []

    def set_engine(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.handed.append(engine)


@pytest.fixture
def config():
    return load_config({"LLMJOBS_SPECULATIVE": "off"})


@pytest.fixture
def store(config) -> FakeFlagStore:
    return FakeFlagStore(defaults(config))


@pytest.fixture
def worker() -> Worker:
    return Worker(FakeEngine())


@pytest.fixture
def applier(config, store, worker, gate) -> WorkerFlagApplier:
    return WorkerFlagApplier(store, config, "w1", gate, lambda: worker.engine, worker.set_engine, initial=dict(store.values))


@pytest.fixture
def builds(monkeypatch, gate):
    """Replace the two engine factories: each build is recorded with whether the gate was drained
    then, and returns a new FakeEngine (or raises what ``builds.fail`` holds)."""

    class Builds(list):
        fail: Exception | None = None

    made = Builds()

    def build(kind: str, config_part, **extra) -> FakeEngine:
        made.append({"kind": kind, "config": config_part, "drained": gate._closed and gate._inside == 0, **extra})
        if made.fail is not None:
            raise made.fail
        made[-1]["engine"] = FakeEngine(f"new-{len(made)}", draft_model=extra.get("draft_model"))
        return made[-1]["engine"]

    def engine_for(worker_config, model, tokenizer, *, device, model_name, context_length, draft_model=None):
        return build("engine_for", worker_config, model=model, draft_model=draft_model)

    def make_engine(model_config, worker_config):
        return build("make_engine", model_config, worker=worker_config)

    monkeypatch.setattr(worker_applier, "engine_for", engine_for)
    monkeypatch.setattr(worker_applier, "make_engine", make_engine)
    return made


def reported(store: FakeFlagStore, name: str) -> dict:
    return store.reports[-1][name]


def test_nothing_changed_nothing_applied_but_reported(applier, store, worker, builds):
    applier.poll_once()
    assert worker.engine.calls == [] and builds == []
    assert set(store.reports[-1]) == {name for name, flag in FLAGS.items() if flag.where == "worker"}


def test_a_live_switch_goes_straight_to_the_engine_once(applier, store, worker, builds):
    store.values["prefix_cache"] = "off"
    applier.poll_once()
    assert worker.engine.calls == [("prefix_cache", False)]
    assert reported(store, "prefix_cache")["value"] == "off" and "error" not in reported(store, "prefix_cache")
    applier.poll_once()
    assert worker.engine.calls == [("prefix_cache", False)]  # applied: not again
    store.values["speculative"] = "prompt-lookup"
    applier.poll_once()
    assert worker.engine.calls[-1] == ("speculative", "prompt-lookup")
    assert builds == [] and worker.handed == []  # no rebuild for a live switch


def test_a_refused_live_switch_is_reported_and_not_retried_until_the_flag_changes(applier, store, worker):
    store.values["speculative"] = "draft-model"
    applier.poll_once()
    assert worker.engine.calls == [("speculative", "draft-model")]
    entry = reported(store, "speculative")
    assert entry["value"] == "off" and "LLMJOBS_DRAFT_MODEL" in entry["error"] and "failed_at" in entry
    for _ in range(3):
        applier.poll_once()
    assert worker.engine.calls == [("speculative", "draft-model")]  # no retry loop
    store.values["speculative"] = "prompt-lookup"
    applier.poll_once()
    assert worker.engine.calls[-1] == ("speculative", "prompt-lookup")
    assert reported(store, "speculative") == {"value": "prompt-lookup", "at": reported(store, "speculative")["at"]}
    store.values["speculative"] = "draft-model"  # changed again: tried again
    applier.poll_once()
    assert worker.engine.calls[-1] == ("speculative", "draft-model") and len(worker.engine.calls) == 3


def test_setting_a_refused_flag_back_forgets_the_failure(applier, store, worker):
    store.values["speculative"] = "draft-model"
    applier.poll_once()
    assert "error" in reported(store, "speculative")
    store.values["speculative"] = "off"  # what runs
    applier.poll_once()
    assert "error" not in reported(store, "speculative") and reported(store, "speculative")["value"] == "off"
    store.values["speculative"] = "draft-model"
    applier.poll_once()
    assert worker.engine.calls == [("speculative", "draft-model"), ("speculative", "draft-model")]


def test_batching_off_rebuilds_around_the_same_weights_through_a_drained_gate(applier, store, worker, builds, gate):
    old = worker.engine
    store.values["batching"] = "off"
    store.values["prefix_cache"] = "off"
    applier.poll_once()
    (build,) = builds
    assert build["kind"] == "engine_for" and build["drained"]
    assert build["config"].engine == "naive" and build["model"] == "old-weights"
    new = worker.engine
    assert worker.handed == [new] and new is not old and old.closed and not new.closed
    assert ("prefix_cache", False) in new.calls  # the live switches carry over to the new engine
    assert gate.capacity == 1 and not gate._closed  # one request at a time, and open again
    assert reported(store, "batching")["value"] == "off"
    store.values["batching"] = "on"
    applier.poll_once()
    assert len(builds) == 2 and builds[-1]["config"].engine == "batching" and gate.capacity is None


def test_a_model_switch_loads_the_model_again(applier, store, worker, builds):
    store.values["quantization"] = "int8-dynamic"
    applier.poll_once()
    (build,) = builds
    assert build["kind"] == "make_engine" and build["drained"] and build["config"].quantization == "int8-dynamic"
    assert reported(store, "quantization")["value"] == "int8-dynamic"


def test_a_rebuild_waits_for_the_task_inside_the_gate(applier, store, worker, builds, gate, task_in_gate):
    log: list[str] = []
    inside = task_in_gate(log, "task")
    inside.wait_entered()
    store.values["batching"] = "off"
    poller = threading.Thread(target=applier.poll_once, daemon=True)
    poller.start()
    gate._cond.wait_for_waiters(1)  # the rebuild is draining
    assert builds == []
    inside.leave()
    poller.join(TIMEOUT_S)
    assert not poller.is_alive()
    assert len(builds) == 1 and builds[0]["drained"] and log == ["task in", "task out"]


def test_a_failed_rebuild_keeps_the_old_engine_and_is_not_retried_until_the_flag_changes(applier, store, worker, builds, gate):
    old = worker.engine
    builds.fail = RuntimeError("flash-attn is not installed")
    store.values["attention"] = "flash_attention_2"
    applier.poll_once()
    assert len(builds) == 1 and worker.engine is old and not old.closed and worker.handed == []
    entry = reported(store, "attention")
    assert entry["value"] != "flash_attention_2" and "flash-attn" in entry["error"]
    assert not gate._closed  # serving again
    applier.poll_once()
    assert len(builds) == 1  # no crash loop
    builds.fail = None
    store.values["attention"] = "eager"
    applier.poll_once()
    assert len(builds) == 2 and worker.engine is not old and old.closed
    assert reported(store, "attention") == {"value": "eager", "at": reported(store, "attention")["at"]}


def test_a_new_engine_that_refuses_a_live_switch_is_closed_and_the_old_one_kept(config, store, worker, builds, gate):
    store.values["speculative"] = "draft-model"
    applier = WorkerFlagApplier(
        store, config, "w1", gate, lambda: worker.engine, worker.set_engine, initial={**store.values, "speculative": "draft-model"}
    )
    old = worker.engine
    store.values["batching"] = "off"
    applier.poll_once()  # the new engine (no draft) refuses speculative=draft-model
    assert len(builds) == 1 and worker.engine is old and worker.handed == [] and not old.closed
    assert builds[0]["engine"].closed  # the refused one does not linger
    assert "LLMJOBS_DRAFT_MODEL" in reported(store, "batching")["error"] and reported(store, "batching")["value"] == "on"


def test_a_tensor_parallel_worker_takes_only_the_speculative_switch(config, store, worker, builds, gate):
    applier = WorkerFlagApplier(store, config, "w1", gate, lambda: worker.engine, worker.set_engine, initial=dict(store.values), fixed=True)
    store.values.update(batching="off", prefix_cache="off", speculative="prompt-lookup")
    applier.poll_once()
    assert builds == [] and worker.engine.calls == [("speculative", "prompt-lookup")]
    assert "tensor-parallel" in reported(store, "batching")["error"] and reported(store, "batching")["value"] == "on"
    assert "tensor-parallel" in reported(store, "prefix_cache")["error"]
    store.values.update(batching="on", prefix_cache="on")
    applier.poll_once()
    assert "error" not in reported(store, "batching") and "error" not in reported(store, "prefix_cache")
