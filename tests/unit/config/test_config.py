"""Configuration: defaults, validation naming the variable, and the README table."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ENV_VARS, load_config, parse_api_keys
from app.errors import ConfigError
from app.settings.variables import markdown_table

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
        ("LLMJOBS_CACHE", "maybe"),  # a switch takes on/off/true/false/1/0/yes/no only
        ("LLMJOBS_CACHE_THRESHOLD", "0.3"),  # a float bound
        ("LLMJOBS_HEARTBEAT_INTERVAL", "0.05"),
        ("LLMJOBS_QUANTIZATION", "int3"),
        ("LLMJOBS_DEVICE", "cuda:x"),
        ("LLMJOBS_MODEL", " "),
    ],
)
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    assert info.value.variable == name
    assert name in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LLMJOBS_PORT", "70000", "LLMJOBS_PORT must be between 1 and 65535, got 70000"),
        ("LLMJOBS_CACHE_THRESHOLD", "1.5", "LLMJOBS_CACHE_THRESHOLD must be between 0.5 and 1, got 1.5"),
        ("LLMJOBS_MAX_MODEL_LEN", "-4", "LLMJOBS_MAX_MODEL_LEN must be at least 0, got -4"),
        ("LLMJOBS_PORT", "abc", "LLMJOBS_PORT must be a whole number, got 'abc'"),
        ("LLMJOBS_CACHE", "maybe", "LLMJOBS_CACHE must be on or off, got 'maybe'"),
        ("LLMJOBS_ENGINE", "magic", "LLMJOBS_ENGINE must be one of batching, naive, got 'magic'"),
        ("LLMJOBS_DEVICE", "tpu", "LLMJOBS_DEVICE must be auto, cpu, cuda or cuda:N, got 'tpu'"),
    ],
)
def test_messages_read_as_one_line(name, value, message):
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    assert str(info.value) == message


def test_values_are_converted():
    config = load_config(
        {
            "LLMJOBS_CACHE": " OFF ",
            "LLMJOBS_CACHE_SAMPLED": "Yes",
            "LLMJOBS_CACHE_SEMANTIC": "0",
            "LLMJOBS_CACHE_THRESHOLD": "0.9",
            "LLMJOBS_HEARTBEAT_INTERVAL": "0.5",
            "LLMJOBS_DEVICE": "cuda:1",
            "LLMJOBS_MODEL_CACHE": "~/models",
            "LLMJOBS_API_KEYS": "k1:alice",
            "PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics",
        }
    )
    assert (config.cache.enabled, config.cache.sampled, config.cache.semantic, config.cache.threshold) == (False, True, False, 0.9)
    assert config.worker.heartbeat_interval_s == 0.5 and config.model.device == "cuda:1"
    assert config.model.cache_dir == Path("~/models").expanduser() and "~" not in str(config.model.cache_dir)
    assert config.api.api_keys == {"k1": "alice"} and config.api.metrics_dir == "/tmp/metrics"


def test_env_vars_are_derived_from_the_settings():
    assert ENV_VARS["LLMJOBS_CACHE"][0] == "on" and ENV_VARS["LLMJOBS_HEARTBEAT_INTERVAL"][0] == "2"
    assert ENV_VARS["LLMJOBS_MODEL_CACHE"][0] == "~/.cache/llmjobs" and ENV_VARS["LLMJOBS_API_KEYS"][0] == ""
    assert all(name.startswith("LLMJOBS_") and meaning for name, (_, meaning) in ENV_VARS.items())
    # every default is itself a valid value
    assert load_config({name: default for name, (default, _) in ENV_VARS.items()}) == load_config({})


def test_draft_model_speculation_with_a_draft():
    config = load_config({"LLMJOBS_SPECULATIVE": "draft-model", "LLMJOBS_DRAFT_MODEL": "/models/draft", "LLMJOBS_SPECULATIVE_TOKENS": "4"})
    assert (config.worker.speculative, config.model.draft_model, config.worker.speculative_tokens) == ("draft-model", "/models/draft", 4)


def test_api_keys():
    assert parse_api_keys(" k1:alice , k2:bob,") == {"k1": "alice", "k2": "bob"}
    assert parse_api_keys("") == {}


def test_cli_stops_on_a_bad_value_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "LLMJOBS_PREFETCH_MULTIPLIER": "lots"}
    result = subprocess.run([sys.executable, "-m", "app.cli", "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "LLMJOBS_PREFETCH_MULTIPLIER" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_readme_documents_every_variable():
    readme = README.read_text()
    table = set(re.findall(r"^\| `(LLMJOBS_[A-Z_]+)` \|", readme, flags=re.M))
    assert table == set(ENV_VARS)
    # Defaults and help text too: regenerate with `python -m app.settings.variables` and paste it in.
    assert markdown_table() in readme


def test_only_config_reads_the_environment():
    root = README.parent
    offenders = [
        str(path.relative_to(root))
        for package in ("app", "api", "workers")
        for path in (root / package).rglob("*.py")
        if path.name != "config.py" and re.search(r"os\.environ\[|os\.environ\.get|os\.getenv", path.read_text())
    ]
    assert offenders == []
