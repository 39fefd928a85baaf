"""The production compose file is secure by default, checked with `docker-compose config` (no Docker
engine needed): without its secrets it refuses to start with a message naming them; with them,
nothing but the API is published beyond the host, Redis never, and every secret is a file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("redis_password", "api_keys", "grafana_admin_password")


@pytest.fixture(scope="module")
def client() -> list[str]:
    """`docker compose` (v2) or Debian's `docker-compose` (v1); CI installs the latter (.ci/run)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if not shutil.which("docker-compose"):
        pytest.skip("no compose client here (.ci/run installs Debian's docker-compose)")
    return ["docker-compose"]


def compose_config(client: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("FLOWER_BASIC_AUTH", "LLMJOBS_SECRETS", "LLMJOBS_OPS_ADDR")}
    command = [*client, "-f", str(ROOT / "docker-compose.yml"), "--project-directory", str(ROOT), "config"]
    return subprocess.run(command, capture_output=True, text=True, env={**clean, **env}, timeout=60)


def test_without_the_flower_password_compose_stops_with_a_message(client, tmp_path):
    result = compose_config(client, LLMJOBS_SECRETS=str(tmp_path))
    assert result.returncode != 0 and "set FLOWER_BASIC_AUTH=user:password" in result.stderr


def test_without_the_secrets_folder_compose_stops_with_a_message(client):
    result = compose_config(client, FLOWER_BASIC_AUTH="admin:x")
    assert result.returncode != 0 and "set LLMJOBS_SECRETS" in result.stderr


@pytest.fixture(scope="module")
def resolved(client, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("secrets")
    for name in SECRETS:
        (folder / name).write_text("x\n")
    result = compose_config(client, FLOWER_BASIC_AUTH="admin:not-a-default", LLMJOBS_SECRETS=str(folder))
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def published(service: dict) -> list[tuple[str, str]]:
    """(host address, port) of each published port, in either of compose's output shapes."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip", "0.0.0.0"), str(port["published"])))
        else:
            parts = str(port).split("/")[0].split(":")
            found.append((parts[0] if len(parts) == 3 else "0.0.0.0", parts[-2]))
    return found


def test_with_the_secrets_only_the_api_is_published_beyond_the_host(resolved):
    services = resolved["services"]
    assert published(services["api"]) == [("0.0.0.0", "8000")]
    for name, port in (("flower", "5555"), ("prometheus", "9090"), ("grafana", "3000")):
        assert published(services[name]) == [("127.0.0.1", port)], name
    for name in ("redis", "worker", "worker-cpu"):
        assert not services[name].get("ports"), f"{name} must not be published"


def test_redis_needs_its_password_and_every_client_reads_it_from_a_secret(resolved):
    services = resolved["services"]
    assert "requirepass" in " ".join(services["redis"]["command"]) and "/run/secrets/redis_password" in " ".join(
        services["redis"]["command"]
    )
    assert "REDISCLI_AUTH" in " ".join(services["redis"]["healthcheck"]["test"])
    for name in ("api", "worker", "worker-cpu", "flower"):
        env = services[name]["environment"]
        assert env["LLMJOBS_REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password", name
        assert "@" not in env["LLMJOBS_REDIS_URL"], f"{name}: no password in the URL"
        assert "redis_password" in [s["source"] if isinstance(s, dict) else s for s in services[name]["secrets"]]


def test_the_api_needs_keys_kept_as_digests_and_grafana_has_no_anonymous_access(resolved):
    services = resolved["services"]
    api = services["api"]["environment"]
    assert api["LLMJOBS_API_KEYS_FILE"] == "/run/secrets/api_keys" and "LLMJOBS_API_KEYS" not in api
    assert "LLMJOBS_ALLOW_ANONYMOUS" not in api and api["LLMJOBS_HOST"] == "0.0.0.0"
    grafana = services["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and "GF_SECURITY_ADMIN_PASSWORD__FILE" in grafana
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == "admin:not-a-default"
    assert not any("basic-auth" in part for part in services["flower"]["command"])  # not on a command line
    assert set(resolved["secrets"]) == set(SECRETS)
