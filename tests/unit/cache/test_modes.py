"""How strict the cache is for a request: the server's, the tenant's and the request's modes, strictest wins."""

from __future__ import annotations

import pytest

from app.config import CacheConfig, load_config
from app.errors import ConfigError
from cache.result_cache import ResultCache


def cache(**config) -> ResultCache:
    base = {"enabled": True, "semantic": True, "threshold": 0.85, "ttl_s": 60, "max_entries": 10, "sampled": False}
    return ResultCache(CacheConfig(**{**base, **config}), store=None)  # type: ignore[arg-type]  # mode_for needs no store


def test_the_strictest_mode_wins():
    modes = cache(tenant_modes={"alice": "exact", "bob": "off"})
    assert modes.mode_for("carol") == "semantic"
    assert modes.mode_for("alice") == "exact"
    assert modes.mode_for("alice", "semantic") == "exact"  # a request cannot loosen its tenant's mode
    assert modes.mode_for("carol", "exact") == "exact"
    assert modes.mode_for("bob", "semantic") == "off"
    assert cache(semantic=False).mode_for("carol") == "exact"
    assert cache(enabled=False).mode_for("carol", "semantic") == "off"


def test_tenant_modes_setting_is_parsed_and_checked():
    config = load_config({"LLMJOBS_CACHE_TENANT_MODES": "alice:exact, bob:off"})
    assert config.cache.tenant_modes == {"alice": "exact", "bob": "off"}
    assert load_config({}).cache.tenant_modes == {}
    with pytest.raises(ConfigError, match="LLMJOBS_CACHE_TENANT_MODES"):
        load_config({"LLMJOBS_CACHE_TENANT_MODES": "alice:loose"})
