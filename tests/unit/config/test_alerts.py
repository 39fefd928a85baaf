"""The alerting rules (deploy/alerts.yml): valid, tested with `promtool test rules` on series that must
and must not fire each one, loaded by compose's Prometheus, and written over series the code exports.

promtool comes with Debian's `prometheus` package, which .ci/run installs: these tests fail rather
than skip without it, so CI never passes without running them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.unit.config.test_deploy import SERVICES, exported_metric_names

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
RULES = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
ALERTS = {rule["alert"]: rule for group in RULES["groups"] for rule in group["rules"]}
WANTED = {
    "LlmjobsQueueNotDraining",
    "LlmjobsNoWorkerConsuming",
    "LlmjobsTtftP95AboveSlo",
    "LlmjobsErrorRateHigh",
    "LlmjobsWorkerMemoryGrowing",
    "LlmjobsRedisMemoryNearLimit",
}


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: `apt-get install prometheus` (Debian's package ships it; .ci/run installs it)"
    return subprocess.run([binary, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=120)


def test_the_rules_are_valid():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_and_stays_quiet_where_it_should():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case():
    tests = yaml.safe_load((DEPLOY / "alerts_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    assert WANTED <= set(ALERTS)
    for name in ALERTS:
        outcomes = {bool(case["exp_alerts"]) for case in cases if case["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: needs a case that fires and one that does not"


def test_compose_prometheus_loads_the_rules():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    mounts = dict(volume.split(":")[:2] for volume in SERVICES["prometheus"]["volumes"])
    rule_files = config["rule_files"]
    assert rule_files and all(any(target == path for target in mounts.values()) for path in rule_files)
    assert (ROOT / next(source for source, target in mounts.items() if target in rule_files)).resolve() == DEPLOY / "alerts.yml"


def test_the_rules_read_series_the_code_exports():
    used = {name for rule in ALERTS.values() for name in re.findall(r"llmjobs_[a-z_]+", rule["expr"])}
    assert used and used <= exported_metric_names(), used - exported_metric_names()
