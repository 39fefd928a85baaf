"""`llmjobs keys new`, keys at rest as digests, the Redis password file, and the API's refusal to
serve beyond loopback without keys."""

from __future__ import annotations

import re

import pytest

from app.cli.commands import check_exposure, is_loopback
from app.cli.keys import key_line
from app.cli.main import main
from app.config import load_config, redacted
from app.errors import ConfigError
from app.settings.value_types import key_digest, read_key_file


def test_keys_new_prints_a_key_once_and_the_line_that_admits_it(capsys, tmp_path):
    assert main(["keys", "new", "alice", "--rate-limit", "60", "--max-active", "4"]) == 0
    out = capsys.readouterr().out
    key = re.search(r"^  (llmj_\S+)$", out, re.M).group(1)
    line = re.search(r"^  (sha256:\S+)$", out, re.M).group(1)
    assert out.count(key) == 1 and len(key) > 40
    assert line == key_line(key, "alice", 60, 4)
    (tmp_path / "keys").write_text(f"# alice's key\n{line}\n\n")
    config = load_config({"LLMJOBS_API_KEYS_FILE": str(tmp_path / "keys")})
    assert config.api.api_keys == {key_digest(key): "alice"}
    assert config.api.tenant_rate_limits == {"alice": 60} and config.api.tenant_active_limits == {"alice": 4}
    assert key not in repr(config)


def test_two_new_keys_differ_and_a_bad_tenant_is_refused(capsys):
    main(["keys", "new", "bob"])
    main(["keys", "new", "bob"])
    keys = re.findall(r"^  (llmj_\S+)$", capsys.readouterr().out, re.M)
    assert len(set(keys)) == 2
    assert main(["keys", "new", "a:b"]) == 2
    assert main(["keys", "new", "bob", "--max-active", "3"]) == 2  # needs --rate-limit too


@pytest.mark.parametrize(
    "content",
    ["plain-key:alice\n", "sha256:abc:alice\n", f"{key_digest('k')}\n", f"{key_digest('k')}:a\n{key_digest('k')}:b\n"],
)
def test_a_key_file_holds_only_well_formed_digest_lines(tmp_path, content):
    (tmp_path / "keys").write_text(content)
    with pytest.raises(ConfigError, match="LLMJOBS_API_KEYS_FILE"):
        read_key_file(str(tmp_path / "keys"))


def test_a_missing_key_file_names_the_variable():
    with pytest.raises(ConfigError, match="LLMJOBS_API_KEYS_FILE"):
        load_config({"LLMJOBS_API_KEYS_FILE": "/nonexistent/keys"})


def test_digests_are_accepted_in_the_variable_too():
    digest = key_digest("k")
    assert read_key_file("") == {}
    assert load_config({"LLMJOBS_API_KEYS": f"{digest}:alice:30"}).api.api_keys == {digest: "alice"}
    assert load_config({"LLMJOBS_API_KEYS": f"{digest}:alice:30"}).api.tenant_rate_limits == {"alice": 30}


def test_the_redis_password_comes_from_its_file_and_is_redacted(tmp_path):
    (tmp_path / "pw").write_text("p@ss:word\n")
    config = load_config({"LLMJOBS_REDIS_URL": "redis://10.0.0.5:6379/1", "LLMJOBS_REDIS_PASSWORD_FILE": str(tmp_path / "pw")})
    assert config.redis.url == "redis://:p%40ss%3Aword@10.0.0.5:6379/1"
    assert redacted(config.redis.url) == "redis://:***@10.0.0.5:6379/1"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="LLMJOBS_REDIS_PASSWORD_FILE"):
        load_config({"LLMJOBS_REDIS_PASSWORD_FILE": str(tmp_path / "empty")})


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_needs_no_keys(host):
    assert is_loopback(host)
    check_exposure(load_config({"LLMJOBS_HOST": host}))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "api.example.com"])
def test_beyond_loopback_the_api_needs_keys_or_an_explicit_anonymous(host):
    with pytest.raises(ConfigError, match="LLMJOBS_HOST.*LLMJOBS_ALLOW_ANONYMOUS"):
        check_exposure(load_config({"LLMJOBS_HOST": host}))
    check_exposure(load_config({"LLMJOBS_HOST": host, "LLMJOBS_API_KEYS": "k:alice"}))
    check_exposure(load_config({"LLMJOBS_HOST": host, "LLMJOBS_ALLOW_ANONYMOUS": "1"}))


@pytest.mark.parametrize("command", ["api", "up"])
def test_llmjobs_api_and_up_refuse_to_start_exposed_without_keys(command, monkeypatch, capsys):
    for name in ("LLMJOBS_API_KEYS", "LLMJOBS_API_KEYS_FILE", "LLMJOBS_ALLOW_ANONYMOUS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLMJOBS_HOST", "0.0.0.0")
    assert main([command]) == 2
    assert "LLMJOBS_ALLOW_ANONYMOUS" in capsys.readouterr().err


def test_a_key_line_without_limits_is_digest_and_tenant():
    assert key_line("k", "t") == f"{key_digest('k')}:t"
    assert key_line("k", "t", 0) == f"{key_digest('k')}:t:0"
