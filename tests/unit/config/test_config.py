"""Configuration: defaults, validation naming the variable, and the README table."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ENV_VARS, load_config, parse_api_keys
from app.errors import ConfigError

README = Path(__file__).resolve().parents[3] / "README.md"


def test_defaults():
    config = load_config({})
    assert config.redis.url == "redis://127.0.0.1:6379/0"
    assert config.model.model == "smollm2-135m-instruct"
    assert config.worker.prefetch_multiplier == 1
    assert config.worker.engine == "batching" and config.worker.task_threads == 32
    assert load_config({"LLMJOBS_ENGINE": "naive"}).worker.task_threads == 1
    assert config.job_ttl_s == 86400
    assert config.api.api_keys == {}
    assert config.worker.visibility_timeout_s > config.worker.task_time_limit_s


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LLMJOBS_PORT", "abc"),
        ("LLMJOBS_PORT", "70000"),
        ("LLMJOBS_PREFETCH_MULTIPLIER", "0"),
        ("LLMJOBS_WORKER_CONCURRENCY", "-1"),
        ("LLMJOBS_TASK_TIME_LIMIT", "1.5"),
        ("LLMJOBS_JOB_TTL", "5"),
        ("LLMJOBS_REDIS_URL", "http://localhost"),
        ("LLMJOBS_KEY_PREFIX", "has space"),
        ("LLMJOBS_DEVICE", "tpu"),
        ("LLMJOBS_DTYPE", "int3"),
        ("LLMJOBS_ENGINE", "magic"),
        ("LLMJOBS_API_KEYS", "no-tenant"),
        ("LLMJOBS_API_KEYS", "k:a,k:b"),
        ("LLMJOBS_MAX_MODEL_LEN", "-4"),
        ("LLMJOBS_API_WORKER_CLASS", "sync"),
        ("LLMJOBS_DEFAULT_MAX_TOKENS", "5000"),
        ("LLMJOBS_SPECULATIVE", "draft-model"),  # without LLMJOBS_DRAFT_MODEL
        ("LLMJOBS_SPECULATIVE_TOKENS", "0"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    assert info.value.variable == name
    assert name in str(info.value)


def test_draft_model_speculation_with_a_draft():
    config = load_config({"LLMJOBS_SPECULATIVE": "draft-model", "LLMJOBS_DRAFT_MODEL": "/models/draft", "LLMJOBS_SPECULATIVE_TOKENS": "4"})
    assert (config.worker.speculative, config.model.draft_model, config.worker.speculative_tokens) == ("draft-model", "/models/draft", 4)


def test_api_keys():
    assert parse_api_keys(" k1:alice , k2:bob,") == {"k1": "alice", "k2": "bob"}
    assert parse_api_keys("") == {}


def test_cli_stops_on_a_bad_value_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "LLMJOBS_PREFETCH_MULTIPLIER": "lots"}
    result = subprocess.run([sys.executable, "-m", "app.cli.main", "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "LLMJOBS_PREFETCH_MULTIPLIER" in result.stderr
    assert "Traceback" not in result.stderr


def test_readme_documents_every_variable():
    table = set(re.findall(r"^\| `(LLMJOBS_[A-Z_]+)` \|", README.read_text(), flags=re.M))
    assert table == set(ENV_VARS)


def test_only_config_reads_the_environment():
    root = README.parent
    offenders = [
        str(path.relative_to(root))
        for package in ("app", "api", "workers")
        for path in (root / package).rglob("*.py")
        if path.name != "config.py" and re.search(r"os\.environ\[|os\.environ\.get|os\.getenv", path.read_text())
    ]
    assert offenders == []
