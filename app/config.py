"""Per-component configuration (frozen dataclasses), built by ``load_config`` from the variables of ``app.settings.variables``."""

# Each component receives only its own dataclass. The variables themselves (default, type,
# bounds, help) are declared once in app/settings/variables.py; this module maps them onto the
# components and turns pydantic's errors into ConfigError, which the entry points print as one
# line naming the variable. Nothing else in the code base reads ``os.environ``.

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from app.batches.config import BatchConfig
from app.errors import ModelNotPreparedError
from app.settings.lora_settings import parse_lora_modules, tenant_loras
from app.settings.redis_url import read_password, redacted, with_password
from app.settings.validation_errors import config_error
from app.settings.value_types import parse_api_keys
from app.settings.variables import ATTENTION_MODES, DEFAULT_MODEL, ENV_VARS, QUANTIZATION_MODES, RUNNER_MODES, SPECULATIVE_MODES, Settings
from app.settings.webhook_settings import webhook_config
from app.webhooks.config import WebhookConfig

__all__ = [
    "ATTENTION_MODES", "CONVERTED_NAME", "DEFAULT_MODEL", "ENV_VARS", "QUANTIZATION_MODES", "READY_MARKER", "RUNNER_MODES",
    "SPECULATIVE_MODES", "ApiConfig", "BatchConfig", "CacheConfig", "Config", "ModelConfig", "ModelSource", "RedisConfig",
    "TracingConfig", "WebhookConfig", "WorkerConfig", "load_config", "parse_api_keys", "redacted",
]  # fmt: skip

CONVERTED_NAME = "SmolLM2-135M-Instruct"  # the default model's folder under LLMJOBS_MODEL_CACHE
READY_MARKER = ".complete"  # written last by the conversion: a folder without it is half-written

# The dataclasses only carry values: load_config builds them from a validated Settings, so they check nothing again.


@dataclass(frozen=True)
class RedisConfig:
    url: str  # redis://, rediss://, unix:// or sentinel://h1:26379;sentinel://h2:26379/0
    key_prefix: str
    sentinel_master: str = "mymaster"  # with a sentinel:// URL: the master's name
    sentinel_password: str = field(default="", repr=False)  # the sentinels' own password (their requirepass)
    wait_replicas: int = 0  # replicas that must acknowledge a new job (Redis WAIT); 0: off
    wait_timeout_s: float = 0.5


@dataclass(frozen=True)
class ModelSource:
    """A model resolved to something ``from_pretrained`` can load."""

    name: str  # what clients see as the model id
    path: str  # a local folder or a hub id
    local: bool


@dataclass(frozen=True)
class ModelConfig:
    model: str
    cache_dir: Path
    device: str
    dtype: str
    max_model_len: int
    quantization: str = "auto"
    attention: str = "auto"
    tensor_parallel: int = 1
    draft_model: str = ""  # speculative decoding's draft: a model folder or hub id
    runner: str = "auto"  # LLMJOBS_RUNNER: the llama.cpp runner computes other numerics, so the cache keys on it

    @property
    def converted_dir(self) -> Path:
        """Where the bundled default model is converted to safetensors (once)."""
        return self.cache_dir / CONVERTED_NAME

    @property
    def is_prepared(self) -> bool:
        return self.model != DEFAULT_MODEL or (self.converted_dir / READY_MARKER).exists()

    @property
    def name(self) -> str:
        """The model id clients send as ``model`` (a folder's name, else the setting itself), known
        before the model is prepared or loaded: it names the model's queue (app/jobs/routing.py)."""
        folder = Path(self.model).expanduser()
        return folder.name if self.model != DEFAULT_MODEL and folder.is_dir() else self.model

    def source(self) -> ModelSource:
        """Map ``LLMJOBS_MODEL`` to a loadable source; the default must be prepared first."""
        if self.model == DEFAULT_MODEL:
            if not self.is_prepared:
                raise ModelNotPreparedError(f"the default model is not converted yet under {self.converted_dir}: run `llmjobs prepare`")
            return ModelSource(name=DEFAULT_MODEL, path=str(self.converted_dir), local=True)
        folder = Path(self.model).expanduser()
        if folder.is_dir():
            return ModelSource(name=folder.name, path=str(folder), local=True)
        return ModelSource(name=self.model, path=self.model, local=False)

    def context_length_of(self, model_config: object) -> int:
        """Tokens of context (prompt + output): LLMJOBS_MAX_MODEL_LEN or the model's own (a transformers config)."""
        return self.max_model_len or int(getattr(model_config, "max_position_embeddings", 2048))


@dataclass(frozen=True)
class WorkerConfig:
    engine: str
    queue: str
    concurrency: int
    max_num_seqs: int
    max_num_batched_tokens: int
    kv_cache_tokens: int
    prefix_cache_tokens: int
    prefetch_multiplier: int
    task_time_limit_s: int
    heartbeat_interval_s: float
    lease_ttl_s: float = 10.0
    metrics_port: int = 9101
    speculative: str = "off"
    speculative_tokens: int = 5
    runner: str = "auto"
    max_loras: int = 0  # LoRA adapters held in memory; 0: none served
    lora_modules: Mapping[str, str] = field(default_factory=dict)  # declared adapters: name -> PEFT folder

    @property
    def task_threads(self) -> int:
        """Celery task threads: one per request the engine can hold at once."""
        if self.concurrency:
            return self.concurrency
        return self.max_num_seqs if self.engine == "batching" else 1

    @property
    def max_request_tokens(self) -> int | None:
        """Largest prompt + max_tokens one request may need, beyond the model's context."""
        return self.kv_cache_tokens if self.engine == "batching" else None

    @property
    def visibility_timeout_s(self) -> int:
        """Longer than the hard time limit, so Redis never redelivers a task that is still running."""
        return self.task_time_limit_s + 60


@dataclass(frozen=True)
class ApiConfig:
    host: str
    port: int
    workers: int
    worker_class: str
    connections: int
    max_tokens: int
    default_max_tokens: int
    max_body_bytes: int
    api_keys: Mapping[str, str] = field(default_factory=dict)  # key (or its "sha256:<hex>" digest) -> tenant
    max_queued: int = 256  # 0: no bound
    rate_limit: int = 0  # requests per minute per tenant; 0: off
    tenant_rate_limits: Mapping[str, int] = field(default_factory=dict)  # tenant -> its own rate limit
    tenant_max_active: int = 0  # queued + running jobs per tenant; 0: no cap
    tenant_active_limits: Mapping[str, int] = field(default_factory=dict)  # tenant -> its own cap
    # prometheus-client's multiprocess folder, which `llmjobs api` sets for gunicorn's processes.
    metrics_dir: str = ""
    allow_anonymous: bool = False  # bind beyond loopback without keys
    public_pages: bool = False  # playground and docs without a key when keys are set
    stream_token_ttl_s: int = 600
    body_timeout_s: float = 10.0
    lora_modules: Mapping[str, str] = field(default_factory=dict)  # declared adapters: name -> PEFT folder
    admin_tenants: frozenset[str] = frozenset()  # may load and unload adapters
    tenant_loras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # tenant -> the adapters it is pinned to


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool
    semantic: bool
    threshold: float
    ttl_s: int
    max_entries: int  # per namespace
    sampled: bool
    tenant_modes: dict[str, str] = field(default_factory=dict)  # tenant -> off | exact | semantic


@dataclass(frozen=True)
class TracingConfig:
    mode: str
    otlp_endpoint: str


@dataclass(frozen=True)
class Config:
    redis: RedisConfig
    model: ModelConfig
    worker: WorkerConfig
    api: ApiConfig
    cache: CacheConfig
    tracing: TracingConfig
    job_ttl_s: int
    events_ttl_s: int  # a job's event stream, after its final event
    flower_port: int
    run_dir: Path
    batches: BatchConfig
    webhooks: WebhookConfig = WebhookConfig()


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build the whole configuration from ``env`` (default: ``os.environ``); unset variables take their defaults."""
    env = os.environ if env is None else env
    # Only the declared variables, so whatever else the mapping holds cannot matter.
    given = {name: env[name].strip() for name in ENV_VARS if name in env}
    try:
        s = Settings.model_validate(given)
    except ValidationError as exc:
        raise config_error(exc) from None
    key_specs = {**s.api_keys, **s.api_keys_file}  # a key (digest) in both: the file's line wins
    return Config(
        redis=RedisConfig(
            url=with_password(s.redis_url, s.redis_password_file),
            key_prefix=s.key_prefix,
            sentinel_master=s.redis_sentinel_master,
            sentinel_password=read_password("LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE", s.redis_sentinel_password_file),
            wait_replicas=s.redis_wait_replicas,
            wait_timeout_s=s.redis_wait_timeout,
        ),
        model=ModelConfig(
            model=s.model,
            cache_dir=s.model_cache,
            device=s.device,
            dtype=s.dtype,
            max_model_len=s.max_model_len,
            quantization=s.quantization,
            attention=s.attention,
            tensor_parallel=s.tensor_parallel,
            draft_model=s.draft_model,
            runner=s.runner,
        ),
        worker=WorkerConfig(
            engine=s.engine,
            queue=s.queue,
            concurrency=s.worker_concurrency,
            max_num_seqs=s.max_num_seqs,
            max_num_batched_tokens=s.max_batched_tokens,
            kv_cache_tokens=s.kv_cache_tokens,
            prefix_cache_tokens=s.prefix_cache_tokens,
            prefetch_multiplier=s.prefetch_multiplier,
            task_time_limit_s=s.task_time_limit,
            heartbeat_interval_s=s.heartbeat_interval,
            lease_ttl_s=s.lease_ttl,
            metrics_port=s.worker_metrics_port,
            speculative=s.speculative,
            speculative_tokens=s.speculative_tokens,
            runner=s.runner,
            max_loras=s.max_loras,
            lora_modules=parse_lora_modules(s.lora_modules),
        ),
        api=ApiConfig(
            host=s.host,
            port=s.port,
            workers=s.api_workers,
            worker_class=s.api_worker_class,
            connections=s.api_connections,
            max_tokens=s.max_tokens,
            default_max_tokens=s.default_max_tokens,
            max_body_bytes=s.max_body_bytes,
            api_keys={key: spec.tenant for key, spec in key_specs.items()},
            max_queued=s.max_queued,
            rate_limit=s.rate_limit,
            tenant_rate_limits={spec.tenant: spec.rate_limit for spec in key_specs.values() if spec.rate_limit is not None},
            tenant_max_active=s.tenant_max_active,
            tenant_active_limits={spec.tenant: spec.max_active for spec in key_specs.values() if spec.max_active is not None},
            # Not ours: prometheus-client's multiprocess folder, which `llmjobs api` sets for gunicorn.
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
            allow_anonymous=s.allow_anonymous,
            public_pages=s.public_pages,
            stream_token_ttl_s=s.stream_token_ttl,
            body_timeout_s=s.body_timeout,
            lora_modules=parse_lora_modules(s.lora_modules),
            admin_tenants=frozenset(name.strip() for name in s.admin_tenants.split(",") if name.strip()),
            tenant_loras=tenant_loras(key_specs),
        ),
        cache=CacheConfig(
            enabled=s.cache,
            semantic=s.cache_semantic,
            threshold=s.cache_threshold,
            ttl_s=s.cache_ttl,
            max_entries=s.cache_max_entries,
            sampled=s.cache_sampled,
            tenant_modes=dict(item.strip().split(":", 1) for item in s.cache_tenant_modes.split(",") if item.strip()),
        ),
        tracing=TracingConfig(mode=s.tracing, otlp_endpoint=s.otlp_endpoint),
        job_ttl_s=s.job_ttl,
        events_ttl_s=s.events_ttl,
        flower_port=s.flower_port,
        run_dir=s.run_dir,
        batches=BatchConfig(
            s.files_dir or str((s.run_dir / "files").resolve()),
            s.tenant_max_batches,
            s.tenant_max_file_bytes,
            s.batch_headroom,
            s.batch_yield_inflight,
            s.batch_max_inflight,
        ),  # fmt: skip
        webhooks=webhook_config(s, key_specs, queue=s.queue, api_address=f"{s.host}:{s.port}", job_ttl_s=s.job_ttl),
    )
