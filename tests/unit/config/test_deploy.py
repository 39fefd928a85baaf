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
from app.obs.api_metrics import ApiMetrics, SystemCollector, SystemState
from app.obs.worker_metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def settings_of(service: dict) -> dict[str, str]:
    """A service's LLMJOBS_* values, less the *_FILE ones (they name secrets inside the container)."""
    return {k: str(v) for k, v in service["environment"].items() if k.startswith("LLMJOBS_") and not k.endswith("_FILE")}


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
    assert all("models:/models" in SERVICES[s]["volumes"] for s in ("api", "worker", "worker-cpu"))


def test_every_command_and_variable_exists():
    cli = (ROOT / "app" / "cli" / "main.py").read_text()
    for name in ("api", "worker", "worker-cpu", "flower"):
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
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    expected = {f"api:{api.api.port}"}
    for name in ("worker", "worker-cpu"):
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
