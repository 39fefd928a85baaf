"""The value types of settings that need more than a number or a choice: on/off switches, paths,
and ``LLMJOBS_API_KEYS`` (keys, their tenants and per-key rate limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from app.errors import ConfigError

_SWITCH_WORDS = frozenset({"on", "off", "true", "false", "1", "0", "yes", "no"})


def _switch_word(value: object) -> object:
    # pydantic's bool also takes t/f/y/n; a switch takes only the words the README promises.
    if isinstance(value, str) and value.lower() not in _SWITCH_WORDS:
        raise ValueError("must be on or off")
    return value


def parse_key_specs(raw: str) -> dict[str, tuple[str, int | None]]:
    """``"k1:alice,k2:bob:120"`` -> ``{"k1": ("alice", None), "k2": ("bob", 120)}``: each key's tenant
    and its own requests-per-minute limit (None: LLMJOBS_RATE_LIMIT's; 0: none)."""
    keys: dict[str, tuple[str, int | None]] = {}
    for entry in filter(None, (p.strip() for p in raw.split(","))):
        key, _, rest = entry.partition(":")
        tenant, _, rpm = rest.partition(":")
        key, tenant, rpm = key.strip(), tenant.strip(), rpm.strip()
        if not key or not tenant or (rpm and not rpm.isdigit()):
            raise ConfigError("LLMJOBS_API_KEYS", "must be comma-separated key:tenant or key:tenant:requests_per_minute entries")
        if key in keys:
            raise ConfigError("LLMJOBS_API_KEYS", "lists one key twice")
        keys[key] = (tenant, int(rpm) if rpm else None)
    return keys


def parse_api_keys(raw: str) -> dict[str, str]:
    """``"k1:alice,k2:bob"`` -> ``{"k1": "alice", "k2": "bob"}``."""
    return {key: tenant for key, (tenant, _) in parse_key_specs(raw).items()}


Switch = Annotated[bool, BeforeValidator(_switch_word)]
ExpandedPath = Annotated[Path, AfterValidator(Path.expanduser)]
# A ConfigError raised inside a validator is not wrapped by pydantic: it reaches the caller as it is.
ApiKeys = Annotated[dict[str, tuple[str, int | None]], BeforeValidator(parse_key_specs)]
