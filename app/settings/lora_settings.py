"""The LoRA variables: adapters declared at start, how many a worker holds, who may load more at run
time. A base of ``app.settings.variables.Settings``."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, field_validator

from app.errors import ConfigError, InvalidRequestError
from app.lora_files import check_name
from app.settings.redis_settings import expects
from app.settings.value_types import KeySpec
from app.settings.webhook_settings import WebhookSettings


def parse_lora_modules(raw: str) -> dict[str, str]:
    """``"sql=/adapters/sql,chat=/adapters/chat"`` -> ``{"sql": "/adapters/sql", "chat": "/adapters/chat"}`` (vLLM's
    ``--lora-modules name=path`` shape). The folders themselves are checked by the API and the worker at start."""
    modules: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, path = (text.strip() for text in item.partition("="))
        if not sep or not path:
            raise ValueError(f"{item!r} is not name=path")
        try:
            check_name(name)
        except InvalidRequestError as exc:
            raise ValueError(str(exc).removeprefix("lora_name: ")) from None
        if name in modules:
            raise ValueError(f"names {name!r} twice")
        modules[name] = path
    return modules


def tenant_loras(keys: Mapping[str, KeySpec]) -> dict[str, tuple[str, ...]]:
    """The adapters each pinned tenant may use (``loras=a+b`` in its keys' lines), the first one its default."""
    pins: dict[str, tuple[str, ...]] = {}
    for spec in keys.values():
        if spec.loras is None:
            continue
        names = tuple(name for name in spec.loras.split("+") if name)
        for name in names:
            try:
                check_name(name)
            except InvalidRequestError as exc:
                raise ConfigError("LLMJOBS_API_KEYS_FILE", f"tenant {spec.tenant}'s loras: {exc}") from None
        if not names or pins.setdefault(spec.tenant, names) != names:
            raise ConfigError("LLMJOBS_API_KEYS_FILE", f"tenant {spec.tenant}'s loras are empty or differ between two of its keys")
    return pins


class LoraSettings(WebhookSettings):
    lora_modules: str = Field(
        "",
        json_schema_extra=expects("comma-separated name=path pairs"),
        description="LoRA adapters served from the start, `name=/path/to/peft/folder,...` (vLLM's `--lora-modules`): PEFT folders "
        "(`adapter_config.json` + `adapter_model.safetensors`) on LLMJOBS_MODEL, which every API and worker process can read. "
        "A request names one as its `model`.",
    )
    max_loras: int = Field(
        8,
        ge=0,
        le=256,
        description="LoRA adapters a worker holds in memory at once (least recently used out first, never one in use); "
        "0: the worker serves no adapter. Ranks up to 64.",
    )
    admin_tenants: str = Field(
        "",
        pattern=r"^[^\s:]*(\s*,\s*[^\s,:]+)*$",
        json_schema_extra=expects("comma-separated tenant names"),
        description="Tenants whose keys may call the admin routes (`POST /v1/load_lora_adapter`, `/v1/unload_lora_adapter`); "
        "empty: nobody once API keys are set (without keys, anyone who reaches the API).",
    )

    @field_validator("lora_modules")
    @classmethod
    def _modules(cls, raw: str) -> str:
        parse_lora_modules(raw)
        return raw
