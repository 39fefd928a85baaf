"""The value types of settings that need more than a number or a choice: on/off switches, paths,
and ``LLMJOBS_API_KEYS`` (keys, their tenants and per-key rate limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NamedTuple

from pydantic import AfterValidator, BeforeValidator

from app.errors import ConfigError

_SWITCH_WORDS = frozenset({"on", "off", "true", "false", "1", "0", "yes", "no"})


def _switch_word(value: object) -> object:
    # pydantic's bool also takes t/f/y/n; a switch takes only the words the README promises.
    if isinstance(value, str) and value.lower() not in _SWITCH_WORDS:
        raise ValueError("must be on or off")
    return value


class KeySpec(NamedTuple):
    tenant: str
    rate_limit: int | None = None  # requests per minute; None: LLMJOBS_RATE_LIMIT's, 0: none
    max_active: int | None = None  # queued + running jobs; None: LLMJOBS_TENANT_MAX_ACTIVE's, 0: no cap


def parse_key_specs(raw: str) -> dict[str, KeySpec]:
    """``"k1:alice,k2:bob:120:8"`` -> ``{"k1": KeySpec("alice"), "k2": KeySpec("bob", 120, 8)}``:
    each key's tenant, and optionally that tenant's own rate limit and cap on active jobs."""
    keys: dict[str, KeySpec] = {}
    for entry in filter(None, (p.strip() for p in raw.split(","))):
        key, tenant, *limits = (part.strip() for part in entry.split(":"))
        if not key or not tenant or len(limits) > 2 or not all(limit.isdigit() for limit in limits):
            raise ConfigError("LLMJOBS_API_KEYS", "must be comma-separated key:tenant[:requests_per_minute[:max_active_jobs]] entries")
        if key in keys:
            raise ConfigError("LLMJOBS_API_KEYS", "lists one key twice")
        keys[key] = KeySpec(tenant, *(int(limit) for limit in limits))
    return keys


def parse_api_keys(raw: str) -> dict[str, str]:
    """``"k1:alice,k2:bob"`` -> ``{"k1": "alice", "k2": "bob"}``."""
    return {key: spec.tenant for key, spec in parse_key_specs(raw).items()}


Switch = Annotated[bool, BeforeValidator(_switch_word)]
ExpandedPath = Annotated[Path, AfterValidator(Path.expanduser)]
# A ConfigError raised inside a validator is not wrapped by pydantic: it reaches the caller as it is.
ApiKeys = Annotated[dict[str, KeySpec], BeforeValidator(parse_key_specs)]
