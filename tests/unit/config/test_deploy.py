"""The production files against the code, without a Docker engine: every command, port, variable,
scrape target and dashboard query must name something the code has."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from app.config import ENV_VARS, load_config
from app.engine.stats import EngineStats
from app.jobs.routing import queue_for
from app.obs.api_metrics import ApiMetrics, SystemCollector, SystemState
from app.obs.worker_metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def settings_of(service: dict) -> dict[str, str]:
    """A service's LLMJOBS_* values, less the *_FILE ones (they name secrets inside the container); ``${X:-default}``
    as compose reads it with X unset."""
    values = {k: str(v) for k, v in service["environment"].items() if k.startswith("LLMJOBS_") and not k.endswith("_FILE")}
    return {k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", v) for k, v in values.items()}


def exported_metric_names() -> set[str]:
    registry = CollectorRegistry()
    WorkerMetrics(registry, lambda: EngineStats(), lambda: {"rss_bytes": 1, "cuda_allocated_bytes": 1, "cuda_reserved_bytes": 1})
    ApiMetrics(registry)
    registry.register(SystemCollector(lambda: SystemState(restarts={"worker": 1})))
    names = set()
    for family in registry.collect():  # labelled series have no samples until used: name them by type
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_compose_has_the_services_and_redis_keeps_the_broker_safe():
    assert {"redis", "api", "worker", "worker-cpu", "flower", "prometheus", "grafana"} <= set(SERVICES)
    redis_command = " ".join(SERVICES["redis"]["command"])
    assert (
        "--appendonly yes" in redis_command
        and "--appendfsync everysec" in redis_command
        and "--maxmemory-policy noeviction" in redis_command
    )
    assert any(v.endswith(":/data") for v in SERVICES["redis"]["volumes"])
    gpu = SERVICES["worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    assert SERVICES["worker-cpu"]["profiles"] == ["cpu"] and "deploy" not in SERVICES["worker-cpu"]
    assert all("models:/models" in SERVICES[s]["volumes"] for s in ("api", "worker", "worker-cpu", "worker-qwen"))


def test_compose_has_two_models_whose_workers_scale_apart():
    """The second model's workers consume a queue of their own, and the API can read its tokenizer."""
    default, second = (load_config(settings_of(SERVICES[name])) for name in ("worker", "worker-qwen"))
    assert second.model.model.startswith("/models/") and second.model.name != default.model.name
    assert queue_for(second.worker.queue, second.model.name) != queue_for(default.worker.queue, default.model.name)
    assert SERVICES["worker-qwen"]["profiles"] == ["second-model"] and "replicas" not in SERVICES["worker-qwen"]["deploy"]


def test_every_command_and_variable_exists():
    cli = (ROOT / "app" / "cli" / "main.py").read_text()
    for name in ("api", "worker", "worker-cpu", "worker-qwen", "flower", "webhooks"):
        service = SERVICES[name]
        command = service["command"]
        if command[0] == "llmjobs":
            assert f'"{command[1]}"' in cli, command
        else:
            assert command[:3] == ["celery", "-A", "workers.main"] and (ROOT / "workers" / "main.py").exists()
        for variable in (k for k in service["environment"] if k.startswith("LLMJOBS_")):
            assert variable in ENV_VARS, f"{name}: {variable} is not a configuration variable"
        load_config(settings_of(service))  # and every value is valid


def test_ports_and_scrape_targets_match_the_configuration():
    api = load_config(settings_of(SERVICES["api"]))
    assert f"{api.api.port}:{api.api.port}" in SERVICES["api"]["ports"]
    flower_port = re.search(r"--port=(\d+)", " ".join(SERVICES["flower"]["command"])).group(1)
    assert any(ports.endswith(f":{flower_port}:{flower_port}") for ports in SERVICES["flower"]["ports"])
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    # Scaled services (`--scale`) are found by DNS: each replica is a target of its own.
    targets |= {f"{n}:{c['port']}" for job in scrape["scrape_configs"] for c in job.get("dns_sd_configs", []) for n in c["names"]}
    expected = {f"api:{api.api.port}"}
    for name in ("worker", "worker-cpu", "worker-qwen"):
        expected.add(f"{name}:{load_config(settings_of(SERVICES[name])).worker.metrics_port}")
    assert targets == expected
    mounted = SERVICES["prometheus"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == (ROOT / "deploy" / "prometheus.yml").resolve()


def test_dashboard_queries_name_exported_metrics():
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "llmjobs.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for wanted in ("ttft p95", "tokens/s", "queue depth", "hit rate", "running sequences", "errors"):
        assert wanted in titles
    names = exported_metric_names()
    used = {name for query in queries for name in re.findall(r"llmjobs_[a-z_]+", query)}
    assert used and used <= names, used - names


def test_keda_scales_one_models_workers_on_its_queued_and_running_jobs():
    """The ScaledObject's query names exported per-model gauges of the model its Deployment serves, and its
    threshold is the slots of one of those workers: replicas = ceil((queued + running) / slots per worker)."""
    documents = {doc["kind"]: doc for doc in yaml.safe_load_all((ROOT / "deploy" / "keda" / "scaledobject.yaml").read_text())}
    deployment, scaled = documents["Deployment"], documents["ScaledObject"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert all(name in ENV_VARS for name in env)
    worker = load_config({k: v for k, v in env.items() if not k.endswith("_FILE")})
    (trigger,) = scaled["spec"]["triggers"]
    query = trigger["metadata"]["query"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert set(re.findall(r"llmjobs_[a-z_]+", query)) == {"llmjobs_model_jobs_queued", "llmjobs_model_jobs_running"}
    assert {"llmjobs_model_jobs_queued", "llmjobs_model_jobs_running"} <= exported_metric_names()
    # The model id is the folder's name (the folder is on the pod's volume, not here).
    assert set(re.findall(r'model="([^"]+)"', query)) == {Path(worker.model.model).name}
    assert int(trigger["metadata"]["threshold"]) == worker.worker.task_threads


def compose_client() -> list[str] | None:
    """`docker compose` (v2 plugin) or Debian's `docker-compose` (v1): either validates the file
    without a Docker engine."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_docker_compose_parses(tmp_path):
    client = compose_client()
    if client is None:
        pytest.skip("no compose client here (.ci/run installs Debian's docker-compose)")
    env = {
        **os.environ,
        "FLOWER_BASIC_AUTH": "admin:x",
        "LLMJOBS_SECRETS": str(tmp_path),
    }  # the secrets it requires (test_security_compose.py)
    command = [*client, "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
