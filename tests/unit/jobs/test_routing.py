"""Model-aware routing's pure logic: queue names, what a request for a model gets, heartbeats grouped by
model, the router's bounded set of per-model services, and the Lua that keeps the per-model counts."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from app.config import DEFAULT_MODEL, load_config
from app.errors import ModelNotFoundError, ModelUnavailableError
from app.jobs import scripts
from app.jobs.model_router import ModelRouter
from app.jobs.routing import FORGET_AFTER_S, UNAVAILABLE_RETRY_S, ModelEntry, ModelKeys, check_routable, queue_for, serving_by_model
from app.obs.api_metrics import ModelLoad, SystemCollector, SystemState

NOW = 1_800_000_000.0


def entry(model: str = "tiny", fingerprint: str = "tiny/f1", seen_at: float = NOW) -> ModelEntry:
    return ModelEntry(model, f"/models/{model}", True, fingerprint, 2048, 2048, seen_at)


def test_the_default_model_keeps_the_configured_queue_and_every_other_model_gets_its_own():
    assert queue_for("llmjobs.generate", DEFAULT_MODEL) == "llmjobs.generate"  # a deployment of the default is unchanged
    assert queue_for("llmjobs.generate", "qwen2.5-0.5b") == "llmjobs.generate.qwen2.5-0.5b"
    assert queue_for("llmjobs.generate", "meta-llama/Llama-3.2-1B") == "llmjobs.generate.meta-llama/Llama-3.2-1B"
    odd = queue_for("q", "llama3:8b")  # ':' is kombu's priority separator: never in a queue name
    assert re.fullmatch(r"q\.llama3-8b-[0-9a-f]{8}", odd)
    assert queue_for("q", "llama3 8b") != odd  # sanitized alike, yet never one queue for two models


def test_the_model_id_is_the_folder_name_or_the_setting(tmp_path: Path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert load_config({}).model.name == DEFAULT_MODEL
    assert load_config({"LLMJOBS_MODEL": str(folder)}).model.name == "my-model"
    assert load_config({"LLMJOBS_MODEL": "org/some-model"}).model.name == "org/some-model"


def test_a_request_for_a_model_is_routed_refused_or_may_wait():
    known = entry()
    assert check_routable("tiny", known, 2, may_queue=False, now=NOW) is known
    with pytest.raises(ModelUnavailableError) as unavailable:  # known, no live worker
        check_routable("tiny", known, 0, may_queue=False, now=NOW)
    assert unavailable.value.retry_after_s == UNAVAILABLE_RETRY_S
    assert check_routable("tiny", known, 0, may_queue=True, now=NOW) is known  # with deadline_s: it waits in its queue
    with pytest.raises(ModelNotFoundError):
        check_routable("nope", None, 0, may_queue=True, now=NOW)
    with pytest.raises(ModelNotFoundError):  # no worker announced it for a week: forgotten
        check_routable("tiny", entry(seen_at=NOW - FORGET_AFTER_S - 1), 0, may_queue=True, now=NOW)


def test_an_entry_reads_back_and_ignores_fields_it_does_not_know():
    assert ModelEntry.from_json(entry().to_json()) == entry()
    newer = entry().to_json()[:-1] + ',"added_later":1}'  # a newer worker's heartbeat
    assert ModelEntry.from_json(newer) == entry()


def test_heartbeats_are_grouped_by_model():
    beats = [
        {"id": "a", "model": "m1", "slots": 32, "num_running": 3, "kv_cache_usage": 0.5, "max_model_len": 8192},
        {"id": "b", "model": "m1", "slots": 32, "num_running": 1, "kv_cache_usage": 0.1, "max_model_len": 8192},
        {"id": "c", "model": "m2", "slots": 4},
        {"id": "old"},  # a worker from before routing: no model announced
    ]
    served = serving_by_model(beats)
    assert set(served) == {"m1", "m2"}
    assert (served["m1"].workers, served["m1"].slots, served["m1"].num_running) == (2, 64, 4)
    assert served["m1"].kv_cache_usage == pytest.approx(0.3) and served["m2"].kv_cache_usage == 0.0


class Catalog:
    """The catalog's one call the router makes: (entry, live workers) of a model."""

    def __init__(self, entries: dict[str, tuple[ModelEntry, int]]) -> None:
        self.entries = entries

    def lookup(self, model: str) -> tuple[ModelEntry | None, int]:
        return self.entries.get(model, (None, 0))


def test_the_router_builds_a_service_per_model_once_and_keeps_a_few():
    default = SimpleNamespace(model_name=DEFAULT_MODEL)
    built: list[str] = []

    def build(e: ModelEntry):
        built.append(e.fingerprint)
        return SimpleNamespace(model_name=e.model, model_id=e.fingerprint)

    entries = {f"m{i}": (entry(f"m{i}", f"m{i}/f"), 1) for i in range(4)}
    router = ModelRouter(default=default, catalog=Catalog(entries), build=build, capacity=2)
    assert router.service_for(None) is default and router.service_for(DEFAULT_MODEL) is default
    first = router.service_for("m0")
    assert router.service_for("m0") is first and built == ["m0/f"]  # the tokenizer loads once
    router.service_for("m1")
    router.service_for("m0")  # m0 used last: m1 goes first
    router.service_for("m2")
    assert router.service_for("m0") is first and built == ["m0/f", "m1/f", "m2/f"]
    entries["m0"] = (entry("m0", "m0/f2"), 1)  # new weights: a new service (its cache keys change with it)
    assert router.service_for("m0").model_id == "m0/f2"
    with pytest.raises(ModelNotFoundError):
        router.service_for("unknown")
    entries["m3"] = (entry("m3"), 0)
    with pytest.raises(ModelUnavailableError):
        router.service_for("m3")
    assert router.tokenizing("m3").model_name == "m3"  # counting tokens needs no worker


def test_concurrent_first_requests_load_a_model_once():
    built: list[str] = []
    router = ModelRouter(default=SimpleNamespace(model_name=DEFAULT_MODEL), catalog=Catalog({"m": (entry("m"), 1)}),
                         build=lambda e: built.append(e.model) or SimpleNamespace(model_name=e.model))  # fmt: skip
    threads = [threading.Thread(target=router.service_for, args=("m",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["m"]


def test_the_lua_that_ends_a_job_uncounts_it_from_the_key_the_python_counts():
    keys = ModelKeys("llmjobs")
    lua = re.search(r"redis\.call\('ZREM', prefix \.\. '(:model:)' \.\. model \.\. '(:jobs)', id\)", scripts.FINISH)
    assert lua and keys.jobs("tiny") == "llmjobs" + lua.group(1) + "tiny" + lua.group(2)


def test_per_model_gauges_carry_the_model_label():
    registry = CollectorRegistry()
    models = {"tiny": ModelLoad(queued=3, running=2, workers=1, slots=4, kv_cache_usage=0.25), DEFAULT_MODEL: ModelLoad()}
    registry.register(SystemCollector(lambda: SystemState(models=models)))
    text = generate_latest(registry).decode()
    expected = [
        'llmjobs_model_jobs_queued{model="tiny"} 3.0',
        'llmjobs_model_jobs_running{model="tiny"} 2.0',
        'llmjobs_model_workers{model="tiny"} 1.0',
        'llmjobs_model_slots{model="tiny"} 4.0',
        'llmjobs_model_kv_cache_usage_perc{model="tiny"} 0.25',
        f'llmjobs_model_workers{{model="{DEFAULT_MODEL}"}} 0.0',
    ]
    assert [line for line in expected if line not in text] == []
