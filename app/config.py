"""All configuration, read from ``LLMJOBS_*`` environment variables in one place.

Each component gets its own frozen dataclass and receives only that. Values are
validated while loading: a bad value raises :class:`ConfigError` naming the
variable, and the process entry points turn that into a one-line message.
Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from app.errors import ConfigError, ModelNotPreparedError

T = TypeVar("T")

DEFAULT_MODEL = "smollm2-135m-instruct"
CONVERTED_NAME = "SmolLM2-135M-Instruct"  # the default model's folder under LLMJOBS_MODEL_CACHE
READY_MARKER = ".complete"  # written last by the conversion: a folder without it is half-written
QUANTIZATION_MODES = ("auto", "none", "fp16-weights", "int8-dynamic", "8bit", "4bit")
ATTENTION_MODES = ("auto", "sdpa", "eager", "flash_attention_2")
SPECULATIVE_MODES = ("off", "prompt-lookup", "draft-model")

# name -> (default, meaning). The README's configuration table mirrors this
# mapping, and a unit test keeps the two in step.
ENV_VARS: dict[str, tuple[str, str]] = {
    "LLMJOBS_REDIS_URL": ("redis://127.0.0.1:6379/0", "Redis for the broker, job records and worker heartbeats. `make run` starts an embedded Redis when nothing answers here."),
    "LLMJOBS_KEY_PREFIX": ("llmjobs", "Prefix of every Redis key the project writes (job records, queue index, heartbeats)."),
    "LLMJOBS_MODEL": (DEFAULT_MODEL, "`smollm2-135m-instruct` (the bundled default), a local Hugging Face model folder, or a hub id where a hub is reachable."),
    "LLMJOBS_MODEL_CACHE": ("~/.cache/llmjobs", "Where the default model's GGUF file is converted once to safetensors."),
    "LLMJOBS_DEVICE": ("auto", "`auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N`."),
    "LLMJOBS_DTYPE": ("auto", "`auto` (float32 on CPU, bfloat16 on CUDA), `float32`, `bfloat16` or `float16`."),
    "LLMJOBS_QUANTIZATION": ("auto", "Weight format: `none`, `fp16-weights` (CPU: linear layers keep float16 weights and compute in float32, ~2x faster decoding), `int8-dynamic` (CPU: PyTorch dynamic int8 linear layers; smaller and faster still in large batches, but an answer can change with its batch companions), `8bit` or `4bit` (bitsandbytes LLM.int8() / NF4 with double quantization: less memory, not more speed), or `auto` (`fp16-weights` on CPU, `none` on CUDA). A checkpoint already quantized (GPTQ, AWQ) loads as it is."),
    "LLMJOBS_ATTENTION": ("auto", "Attention kernels: `auto` (`flash_attention_2` when the flash-attn package imports and CUDA is present, else `sdpa`), `sdpa`, `eager` or `flash_attention_2` (fails at start where it cannot run)."),
    "LLMJOBS_TENSOR_PARALLEL": ("1", "Devices one worker spans (transformers' tensor-parallel plan under `torchrun`; `llmjobs worker` starts it). Rank 0 consumes tasks, the other ranks follow its forward passes."),
    "LLMJOBS_MAX_MODEL_LEN": ("0", "Context length in tokens (prompt + output); 0 takes the model's own."),
    "LLMJOBS_ENGINE": ("batching", "Worker engine. `batching`: continuous batching (requests join and leave the running batch every step); `naive`: one request at a time with `model.generate` (the baseline, and the rollback)."),
    "LLMJOBS_MAX_NUM_SEQS": ("32", "Batching engine: most sequences in the running batch."),
    "LLMJOBS_MAX_BATCHED_TOKENS": ("1024", "Batching engine: tokens per step (decodes plus one prefill chunk), which bounds how long a long prompt can stall decoding."),
    "LLMJOBS_PREFIX_CACHE_TOKENS": ("8192", "Batching engine: tokens of prompt-prefix KV kept for reuse (LRU); 0 turns prefix reuse off."),
    "LLMJOBS_KV_CACHE_TOKENS": ("65536", "Batching engine: KV memory budget in tokens (prompt + max_tokens of every admitted request); requests beyond it wait. Also caps prompt + max_tokens at the API."),
    "LLMJOBS_SPECULATIVE": ("off", "Batching engine: speculative decoding for greedy requests decoding alone. `prompt-lookup` drafts tokens by finding the latest tokens earlier in the prompt/output; `draft-model` asks the smaller model of `LLMJOBS_DRAFT_MODEL`; the target verifies a whole draft in one forward pass, and drafting backs off for a request while it does not pay. `off`."),
    "LLMJOBS_DRAFT_MODEL": ("", "Speculative decoding: a Hugging Face model folder (or hub id) of a smaller causal LM with exactly the target's tokenizer, loaded beside the target so `draft-model` can be switched on. Empty: none."),
    "LLMJOBS_SPECULATIVE_TOKENS": ("5", "Speculative decoding: tokens drafted per verification pass."),
    "LLMJOBS_QUEUE": ("llmjobs.generate", "Celery queue that generation tasks are routed to."),
    "LLMJOBS_WORKER_CONCURRENCY": ("0", "Task threads per worker process (each waits on one request); 0 means the engine's capacity: LLMJOBS_MAX_NUM_SEQS for `batching`, 1 for `naive`."),
    "LLMJOBS_PREFETCH_MULTIPLIER": ("1", "Celery `worker_prefetch_multiplier`: messages reserved per task thread."),
    "LLMJOBS_TASK_TIME_LIMIT": ("300", "Seconds one generation may run before it fails. The broker's visibility timeout (after which Redis redelivers the task of a worker that died) is this plus 60 s."),
    "LLMJOBS_WORKER_METRICS_PORT": ("9101", "Port on which each worker process serves its Prometheus metrics (`/metrics`); 0 turns it off. A second worker on the same host logs that the port is taken and runs without it."),
    "LLMJOBS_HEARTBEAT_INTERVAL": ("2", "Seconds between worker heartbeats; `/readyz` counts a worker live for 5 intervals."),
    "LLMJOBS_JOB_TTL": ("86400", "Seconds job records and task results are kept after their last change."),
    "LLMJOBS_MAX_TOKENS": ("2048", "Largest `max_tokens` a request may ask for."),
    "LLMJOBS_DEFAULT_MAX_TOKENS": ("256", "`max_tokens` when a request gives none."),
    "LLMJOBS_MAX_BODY_BYTES": ("1048576", "Largest request body in bytes; larger ones get `413`."),
    "LLMJOBS_API_KEYS": ("", "Optional `key:tenant` pairs, comma-separated. When set, every `/v1` request needs `Authorization: Bearer <key>` and sees only its tenant's jobs."),
    "LLMJOBS_HOST": ("127.0.0.1", "Address the API binds to."),
    "LLMJOBS_PORT": ("8000", "Port the API binds to."),
    "LLMJOBS_API_WORKERS": ("2", "gunicorn worker processes for the API."),
    "LLMJOBS_API_WORKER_CLASS": ("gevent", "gunicorn worker class: `gevent` (one greenlet per connection: hundreds of open streams are cheap) or `gthread`."),
    "LLMJOBS_API_CONNECTIONS": ("1000", "Open connections (streams included) per gunicorn worker: gevent's worker connections, or gthread's threads."),
    "LLMJOBS_FLOWER_PORT": ("5555", "Port of Celery Flower started by `llmjobs up`; 0 leaves Flower out."),
    "LLMJOBS_CACHE": ("on", "Result cache checked by the API before enqueueing (`on`/`off`): exact duplicates, then paraphrases (semantic tier). Requests can opt out with `\"cache\": false` or `Cache-Control: no-cache`."),
    "LLMJOBS_CACHE_SEMANTIC": ("on", "The semantic tier (`on`/`off`): all-MiniLM-L6-v2 embeddings, cosine similarity within the same model, sampling parameters, conversation and tenant."),
    "LLMJOBS_CACHE_THRESHOLD": ("0.85", "Cosine similarity a paraphrase needs for a semantic hit (it must also pass the near-miss checks of `cache/guard.py`)."),
    "LLMJOBS_CACHE_TTL": ("86400", "Seconds a cached answer is kept."),
    "LLMJOBS_CACHE_MAX_ENTRIES": ("10000", "Most cached answers per namespace (model + sampling parameters + conversation + tenant); the oldest are evicted first."),
    "LLMJOBS_CACHE_SAMPLED": ("off", "Also cache sampled requests (temperature > 0 without a `seed`), whose answers differ on every run; off by default."),
    "LLMJOBS_TRACING": ("off", "OpenTelemetry traces, one per job across API, queue and worker: `off`, `console` (printed by each process) or `otlp`."),
    "LLMJOBS_OTLP_ENDPOINT": ("http://127.0.0.1:4318/v1/traces", "Where `LLMJOBS_TRACING=otlp` sends spans (OTLP over HTTP)."),
    "LLMJOBS_RUN_DIR": (".run", "Folder for the embedded Redis's data and logs under `llmjobs up`."),
}


@dataclass(frozen=True)
class RedisConfig:
    url: str
    key_prefix: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("LLMJOBS_REDIS_URL", f"must start with redis://, rediss:// or unix://, got {self.url!r}")
        if not self.key_prefix or any(c in self.key_prefix for c in " \t\n{}"):
            raise ConfigError("LLMJOBS_KEY_PREFIX", f"must be a non-empty word without spaces or braces, got {self.key_prefix!r}")


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

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("LLMJOBS_MODEL", "must not be empty")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError("LLMJOBS_DEVICE", f"must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ConfigError("LLMJOBS_DTYPE", f"must be auto, float32, bfloat16 or float16, got {self.dtype!r}")
        if self.quantization not in QUANTIZATION_MODES:
            raise ConfigError("LLMJOBS_QUANTIZATION", f"must be one of {', '.join(QUANTIZATION_MODES)}, got {self.quantization!r}")
        if self.attention not in ATTENTION_MODES:
            raise ConfigError("LLMJOBS_ATTENTION", f"must be one of {', '.join(ATTENTION_MODES)}, got {self.attention!r}")
        if self.max_model_len < 0:
            raise ConfigError("LLMJOBS_MAX_MODEL_LEN", "must be 0 (the model's own) or a positive number of tokens")

    @property
    def converted_dir(self) -> Path:
        """Where the bundled default model is converted to safetensors (once)."""
        return self.cache_dir / CONVERTED_NAME

    @property
    def is_prepared(self) -> bool:
        return self.model != DEFAULT_MODEL or (self.converted_dir / READY_MARKER).exists()

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
    metrics_port: int = 9101
    speculative: str = "off"
    speculative_tokens: int = 5

    def __post_init__(self) -> None:
        if self.engine not in ("batching", "naive"):
            raise ConfigError("LLMJOBS_ENGINE", f"must be batching or naive, got {self.engine!r}")
        if not self.queue:
            raise ConfigError("LLMJOBS_QUEUE", "must not be empty")
        if self.speculative not in SPECULATIVE_MODES:
            raise ConfigError("LLMJOBS_SPECULATIVE", f"must be one of {', '.join(SPECULATIVE_MODES)}, got {self.speculative!r}")

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
    api_keys: Mapping[str, str] = field(default_factory=dict)
    # prometheus-client's multiprocess folder, which `llmjobs api` sets for gunicorn's processes.
    metrics_dir: str = ""

    def __post_init__(self) -> None:
        if self.worker_class not in ("gevent", "gthread"):
            raise ConfigError("LLMJOBS_API_WORKER_CLASS", f"must be gevent or gthread, got {self.worker_class!r}")
        if self.default_max_tokens > self.max_tokens:
            raise ConfigError("LLMJOBS_DEFAULT_MAX_TOKENS", f"must not exceed LLMJOBS_MAX_TOKENS ({self.max_tokens})")


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool
    semantic: bool
    threshold: float
    ttl_s: int
    max_entries: int  # per namespace
    sampled: bool


@dataclass(frozen=True)
class TracingConfig:
    mode: str
    otlp_endpoint: str

    def __post_init__(self) -> None:
        if self.mode not in ("off", "console", "otlp"):
            raise ConfigError("LLMJOBS_TRACING", f"must be off, console or otlp, got {self.mode!r}")


@dataclass(frozen=True)
class Config:
    redis: RedisConfig
    model: ModelConfig
    worker: WorkerConfig
    api: ApiConfig
    cache: CacheConfig
    tracing: TracingConfig
    job_ttl_s: int
    flower_port: int
    run_dir: Path


_SWITCH_VALUES = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build the whole configuration from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env

    def get(name: str) -> str:
        return env.get(name, ENV_VARS[name][0]).strip()

    def number(name: str, parse: Callable[[str], T], low: float, high: float = float("inf")) -> T:
        raw = get(name)
        try:
            value = parse(raw)
        except ValueError:
            raise ConfigError(name, f"must be a number, got {raw!r}") from None
        if not low <= value <= high:  # type: ignore[operator]
            raise ConfigError(name, f"must be between {low:g} and {high:g}, got {raw}")
        return value

    def switch(name: str) -> bool:
        raw = get(name).lower()
        if raw not in _SWITCH_VALUES:
            raise ConfigError(name, f"must be on or off, got {raw!r}")
        return _SWITCH_VALUES[raw]

    config = Config(
        redis=RedisConfig(url=get("LLMJOBS_REDIS_URL"), key_prefix=get("LLMJOBS_KEY_PREFIX")),
        model=ModelConfig(
            model=get("LLMJOBS_MODEL"),
            cache_dir=Path(get("LLMJOBS_MODEL_CACHE")).expanduser(),
            device=get("LLMJOBS_DEVICE"),
            dtype=get("LLMJOBS_DTYPE"),
            max_model_len=number("LLMJOBS_MAX_MODEL_LEN", int, 0),
            quantization=get("LLMJOBS_QUANTIZATION"),
            attention=get("LLMJOBS_ATTENTION"),
            tensor_parallel=number("LLMJOBS_TENSOR_PARALLEL", int, 1, 64),
            draft_model=get("LLMJOBS_DRAFT_MODEL"),
        ),
        worker=WorkerConfig(
            engine=get("LLMJOBS_ENGINE"),
            queue=get("LLMJOBS_QUEUE"),
            concurrency=number("LLMJOBS_WORKER_CONCURRENCY", int, 0, 1024),
            max_num_seqs=number("LLMJOBS_MAX_NUM_SEQS", int, 1, 4096),
            max_num_batched_tokens=number("LLMJOBS_MAX_BATCHED_TOKENS", int, 16, 1 << 20),
            kv_cache_tokens=number("LLMJOBS_KV_CACHE_TOKENS", int, 256, 1 << 30),
            prefix_cache_tokens=number("LLMJOBS_PREFIX_CACHE_TOKENS", int, 0, 1 << 30),
            prefetch_multiplier=number("LLMJOBS_PREFETCH_MULTIPLIER", int, 1, 1024),
            task_time_limit_s=number("LLMJOBS_TASK_TIME_LIMIT", int, 1, 86400),
            heartbeat_interval_s=number("LLMJOBS_HEARTBEAT_INTERVAL", float, 0.1, 60),
            metrics_port=number("LLMJOBS_WORKER_METRICS_PORT", int, 0, 65535),
            speculative=get("LLMJOBS_SPECULATIVE"),
            speculative_tokens=number("LLMJOBS_SPECULATIVE_TOKENS", int, 1, 64),
        ),
        api=ApiConfig(
            host=get("LLMJOBS_HOST"),
            port=number("LLMJOBS_PORT", int, 1, 65535),
            workers=number("LLMJOBS_API_WORKERS", int, 1, 64),
            worker_class=get("LLMJOBS_API_WORKER_CLASS"),
            connections=number("LLMJOBS_API_CONNECTIONS", int, 1, 100_000),
            max_tokens=number("LLMJOBS_MAX_TOKENS", int, 1, 1_000_000),
            default_max_tokens=number("LLMJOBS_DEFAULT_MAX_TOKENS", int, 1, 1_000_000),
            max_body_bytes=number("LLMJOBS_MAX_BODY_BYTES", int, 1024, 1 << 30),
            api_keys=parse_api_keys(get("LLMJOBS_API_KEYS")),
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
        ),
        cache=CacheConfig(
            enabled=switch("LLMJOBS_CACHE"),
            semantic=switch("LLMJOBS_CACHE_SEMANTIC"),
            threshold=number("LLMJOBS_CACHE_THRESHOLD", float, 0.5, 1.0),
            ttl_s=number("LLMJOBS_CACHE_TTL", int, 1, 365 * 86400),
            max_entries=number("LLMJOBS_CACHE_MAX_ENTRIES", int, 1, 10_000_000),
            sampled=switch("LLMJOBS_CACHE_SAMPLED"),
        ),
        tracing=TracingConfig(mode=get("LLMJOBS_TRACING"), otlp_endpoint=get("LLMJOBS_OTLP_ENDPOINT")),
        job_ttl_s=number("LLMJOBS_JOB_TTL", int, 60, 365 * 86400),
        flower_port=number("LLMJOBS_FLOWER_PORT", int, 0, 65535),
        run_dir=Path(get("LLMJOBS_RUN_DIR")).expanduser(),
    )
    if config.worker.speculative == "draft-model" and not config.model.draft_model:
        raise ConfigError("LLMJOBS_SPECULATIVE", "draft-model needs LLMJOBS_DRAFT_MODEL (a smaller model with the same tokenizer)")
    return config


def parse_api_keys(raw: str) -> dict[str, str]:
    """``"k1:alice,k2:bob"`` -> ``{"k1": "alice", "k2": "bob"}``."""
    keys: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, sep, tenant = pair.partition(":")
        key, tenant = key.strip(), tenant.strip()
        if not sep or not key or not tenant:
            raise ConfigError("LLMJOBS_API_KEYS", "must be comma-separated key:tenant pairs")
        if key in keys:
            raise ConfigError("LLMJOBS_API_KEYS", "lists one key twice")
        keys[key] = tenant
    return keys
