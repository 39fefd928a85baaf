"""The value types of settings that need more than a number or a choice: on/off switches, paths,
and ``LLMJOBS_API_KEYS`` / ``LLMJOBS_API_KEYS_FILE`` (keys or their SHA-256 digests, their tenants and
per-key rate limits)."""

from __future__ import annotations

import hashlib
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
    webhook_secret: str | None = None  # whsec_...; None: LLMJOBS_WEBHOOK_SECRET
    webhook_url: str | None = None  # the tenant's default webhook; None: LLMJOBS_WEBHOOK_URL
    loras: str | None = None  # `a+b`: the LoRA adapters the tenant is pinned to (its jobs run on them only); None: any model


KEY_OPTIONS = ("webhook_secret", "webhook_url", "loras")  # name=value words after a key's entry


DIGEST_PREFIX = "sha256:"
_HEX = frozenset("0123456789abcdef")


def key_digest(key: str) -> str:
    """How a key is kept at rest: ``sha256:<64 hex>``. A plain SHA-256 (no salt, no stretching) is
    enough because keys are random 256-bit strings (``llmjobs keys new``), not passwords."""
    return DIGEST_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def _entries(raw: str, separator: str) -> list[str]:
    return [part.strip() for part in raw.split(separator) if part.strip() and not part.strip().startswith("#")]


def parse_key_specs(raw: str, variable: str = "LLMJOBS_API_KEYS", separator: str = ",") -> dict[str, KeySpec]:
    """``"k1:alice,k2:bob:120:8"`` -> ``{"k1": KeySpec("alice"), "k2": KeySpec("bob", 120, 8)}``:
    each key's tenant, and optionally that tenant's own rate limit and cap on active jobs. A key may
    be given as its digest, ``sha256:<hex>:tenant[:R[:A]]``; it stays ``"sha256:<hex>"`` here. Words after the
    entry, ``webhook_secret=whsec_...`` and ``webhook_url=https://...``, are that tenant's webhook settings;
    ``loras=a+b`` pins the tenant to those LoRA adapters."""
    what = {",": "comma-separated", "\n": "one-per-line"}
    keys: dict[str, KeySpec] = {}
    for line in _entries(raw, separator):
        entry, *words = line.split()
        options = dict(word.partition("=")[::2] for word in words)
        if unknown := sorted(set(options) - set(KEY_OPTIONS)) or [name for name, value in options.items() if not value]:
            raise ConfigError(variable, f"has an unknown or empty option {unknown[0]!r} (known: {', '.join(KEY_OPTIONS)})")
        parts = [part.strip() for part in entry.split(":")]
        if parts[0] == DIGEST_PREFIX[:-1] and len(parts) > 1:
            if len(parts[1]) != 64 or not set(parts[1]) <= _HEX:
                raise ConfigError(variable, "a sha256: key must be followed by 64 lowercase hex digits")
            parts = [DIGEST_PREFIX + parts[1], *parts[2:]]
        key, tenant, *limits = parts if len(parts) > 1 else (parts[0], "")
        if not key or not tenant or len(limits) > 2 or not all(limit.isdigit() for limit in limits):
            raise ConfigError(variable, f"must be {what[separator]} key:tenant[:requests_per_minute[:max_active_jobs]] entries")
        if key in keys:
            raise ConfigError(variable, "lists one key twice")
        keys[key] = KeySpec(tenant, *(int(limit) for limit in limits))._replace(**options)
    return keys


def read_key_file(path: str) -> dict[str, KeySpec]:
    """``LLMJOBS_API_KEYS_FILE``: one ``sha256:<hex>:tenant[:R[:A]]`` per line; empty path: none."""
    if not path.strip():
        return {}
    try:
        text = Path(path.strip()).expanduser().read_text()
    except OSError as exc:
        raise ConfigError("LLMJOBS_API_KEYS_FILE", f"cannot be read: {exc.strerror or exc}") from None
    specs = parse_key_specs(text, "LLMJOBS_API_KEYS_FILE", separator="\n")
    if plain := [key for key in specs if not key.startswith(DIGEST_PREFIX)]:
        raise ConfigError("LLMJOBS_API_KEYS_FILE", f"holds {len(plain)} plaintext key(s): write sha256:<hex>:tenant lines instead")
    return specs


def parse_api_keys(raw: str) -> dict[str, str]:
    """``"k1:alice,k2:bob"`` -> ``{"k1": "alice", "k2": "bob"}``."""
    return {key: spec.tenant for key, spec in parse_key_specs(raw).items()}


Switch = Annotated[bool, BeforeValidator(_switch_word)]
ExpandedPath = Annotated[Path, AfterValidator(Path.expanduser)]
# A ConfigError raised inside a validator is not wrapped by pydantic: it reaches the caller as it is.
ApiKeys = Annotated[dict[str, KeySpec], BeforeValidator(parse_key_specs)]
ApiKeysFile = Annotated[dict[str, KeySpec], BeforeValidator(read_key_file)]
