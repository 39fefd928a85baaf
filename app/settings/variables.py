"""Every ``LLMJOBS_*`` variable, declared once: a plain pydantic ``BaseModel`` whose field ``x`` is ``LLMJOBS_X``."""

# Why not pydantic-settings' BaseSettings: it is not a declared dependency, and it merges the
# process environment into whatever it is given, while ``load_config({...})`` must see only the
# mapping it is handed. So ``app.config`` passes one mapping in and this model only validates it.
# Field order is the README table's order.

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, model_validator

from app.errors import ConfigError
from app.settings.lora_settings import LoraSettings
from app.settings.redis_settings import expects
from app.settings.value_types import ApiKeys, ApiKeysFile, ExpandedPath, Switch

DEFAULT_MODEL = "smollm2-135m-instruct"
QuantizationMode = Literal["auto", "none", "fp16-weights", "int8-dynamic", "8bit", "4bit"]
AttentionMode = Literal["auto", "sdpa", "eager", "flash_attention_2"]
SpeculativeMode = Literal["off", "prompt-lookup", "draft-model"]
RunnerMode = Literal["auto", "lean", "llamacpp", "transformers"]
# The runtime flags (app/flags) offer the same choices, so they are exported as tuples too.
QUANTIZATION_MODES: tuple[str, ...] = get_args(QuantizationMode)
ATTENTION_MODES: tuple[str, ...] = get_args(AttentionMode)
SPECULATIVE_MODES: tuple[str, ...] = get_args(SpeculativeMode)
RUNNER_MODES: tuple[str, ...] = get_args(RunnerMode)


class Settings(LoraSettings):
    model: str = Field(
        DEFAULT_MODEL,
        min_length=1,
        description="`smollm2-135m-instruct` (the bundled default), a local Hugging Face model folder, "
        "or a hub id where a hub is reachable.",
    )
    model_cache: ExpandedPath = Field(
        Path("~/.cache/llmjobs"), description="Where the default model's GGUF file is converted once to safetensors."
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        json_schema_extra=expects("auto, cpu, cuda or cuda:N"),
        description="`auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N`.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="`auto` (float32 on CPU, bfloat16 on CUDA), `float32`, `bfloat16` or `float16`."
    )
    quantization: QuantizationMode = Field(
        "auto",
        description="Weight format: `none`, `fp16-weights` (CPU: linear layers keep float16 weights and compute in float32, ~2x faster "
        "decoding), `int8-dynamic` (CPU: PyTorch dynamic int8 linear layers; smaller and faster still in large batches, but "
        "an answer can change with its batch companions), `8bit` or `4bit` (bitsandbytes LLM.int8() / NF4 with double "
        "quantization: less memory, not more speed), or `auto` (`fp16-weights` on CPU, `none` on CUDA). A checkpoint already "
        "quantized (GPTQ, AWQ) loads as it is.",
    )
    attention: AttentionMode = Field(
        "auto",
        description="Attention kernels: `auto` (`flash_attention_2` when the flash-attn package imports and CUDA is present, else `sdpa`), "
        "`sdpa`, `eager` or `flash_attention_2` (fails at start where it cannot run).",
    )
    tensor_parallel: int = Field(
        1,
        ge=1,
        le=64,
        description="Devices one worker spans (transformers' tensor-parallel plan under `torchrun`; `llmjobs worker` starts it). "
        "Rank 0 consumes tasks, the other ranks follow its forward passes.",
    )
    max_model_len: int = Field(0, ge=0, description="Context length in tokens (prompt + output); 0 takes the model's own.")
    engine: Literal["batching", "naive"] = Field(
        "batching",
        description="Worker engine. `batching`: continuous batching (requests join and leave the running batch every step); "
        "`naive`: one request at a time with `model.generate` (the baseline, and the rollback).",
    )
    max_num_seqs: int = Field(32, ge=1, le=4096, description="Batching engine: most sequences in the running batch.")
    runner: RunnerMode = Field(
        "auto",
        description="Batching engine: the forward pass. `lean`: the project's own Llama-family forward over preallocated KV slots "
        "(CPU; Llama, SmolLM2, Mistral, Qwen2 with weights `none` or `fp16-weights`); `transformers`: the model's transformers forward "
        "(any architecture, device and weight format; the rollback); `llamacpp`: llama.cpp's CPU kernels over the model's GGUF file "
        "(the default model: its bundled Q4_1 file; a request's context is capped at "
        "LLMJOBS_KV_CACHE_TOKENS / LLMJOBS_MAX_NUM_SEQS); `auto`: `lean` where it runs, else `transformers`.",
    )
    max_batched_tokens: int = Field(
        1024,
        ge=16,
        le=1 << 20,
        description="Batching engine: tokens per step (decodes plus one prefill chunk), "
        "which bounds how long a long prompt can stall decoding.",
    )
    prefix_cache_tokens: int = Field(
        8192, ge=0, le=1 << 30, description="Batching engine: tokens of prompt-prefix KV kept for reuse (LRU); 0 turns prefix reuse off."
    )
    kv_cache_tokens: int = Field(
        65536,
        ge=256,
        le=1 << 30,
        description="Batching engine: KV memory budget in tokens (prompt + max_tokens of every admitted request); requests beyond it wait. "
        "Also caps prompt + max_tokens at the API.",
    )
    speculative: SpeculativeMode = Field(
        "off",
        description="Batching engine: speculative decoding for greedy requests decoding alone. `prompt-lookup` drafts tokens by finding "
        "the latest tokens earlier in the prompt/output; `draft-model` asks the smaller model of `LLMJOBS_DRAFT_MODEL`; the "
        "target verifies a whole draft in one forward pass, and drafting backs off for a request while it does not pay. "
        "`off`.",
    )
    draft_model: str = Field(
        "",
        description="Speculative decoding: a Hugging Face model folder (or hub id) of a smaller causal LM with exactly the target's "
        "tokenizer, loaded beside the target so `draft-model` can be switched on. Empty: none.",
    )
    speculative_tokens: int = Field(5, ge=1, le=64, description="Speculative decoding: tokens drafted per verification pass.")
    queue: str = Field(
        "llmjobs.generate",
        min_length=1,
        description="Celery queue of the bundled default model's jobs; any other model's go to `<LLMJOBS_QUEUE>.<model id>`. "
        "Each worker consumes the queue of its own `LLMJOBS_MODEL` (see Scaling out).",
    )
    worker_concurrency: int = Field(
        0,
        ge=0,
        le=1024,
        description="Task threads per worker process (each waits on one request); 0 means the engine's capacity: "
        "LLMJOBS_MAX_NUM_SEQS for `batching`, 1 for `naive`.",
    )
    prefetch_multiplier: int = Field(
        1, ge=1, le=1024, description="Celery `worker_prefetch_multiplier`: messages reserved per task thread."
    )
    task_time_limit: int = Field(
        300,
        ge=1,
        le=86400,
        description="Seconds one generation may run before it fails. The broker's visibility timeout "
        "(after which Redis redelivers the task of a worker that died) is this plus 60 s.",
    )
    worker_metrics_port: int = Field(
        9101,
        ge=0,
        le=65535,
        description="Port on which each worker process serves its Prometheus metrics (`/metrics`); 0 turns it off. "
        "A second worker on the same host logs that the port is taken and runs without it.",
    )
    heartbeat_interval: float = Field(
        2.0, ge=0.1, le=60, description="Seconds between worker heartbeats; `/readyz` counts a worker live for 5 intervals."
    )
    lease_ttl: float = Field(
        10.0,
        ge=0.5,
        le=3600,
        description="Seconds a worker holds a running job without renewing its lease (it renews with every heartbeat). "
        "When a lease lapses (the worker died or lost Redis) the job goes back to the queue at once and continues "
        "after the tokens already streamed.",
    )
    job_ttl: int = Field(86400, ge=60, le=365 * 86400, description="Seconds a job's record (output, usage, timings) is kept after it ends.")
    events_ttl: int = Field(
        300, ge=1, le=365 * 86400, description="Seconds a job's event stream (streaming and resume) is kept after its final event; "
        "later, a stream or resume gets only the final event, from the record.",
    )  # fmt: skip
    max_tokens: int = Field(2048, ge=1, le=1_000_000, description="Largest `max_tokens` a request may ask for.")
    default_max_tokens: int = Field(256, ge=1, le=1_000_000, description="`max_tokens` when a request gives none.")
    max_body_bytes: int = Field(1048576, ge=1024, le=1 << 30, description="Largest request body in bytes; larger ones get `413`.")
    api_keys: ApiKeys = Field(
        "",  # the variable's text, parsed by validation
        description="Optional `key:tenant` pairs, comma-separated. When set, every `/v1` request needs `Authorization: Bearer <key>` "
        "and sees only its tenant's jobs. `key:tenant:R:A` gives that key's tenant its own limits: R requests per minute, "
        "A jobs queued or running (0: none).",
    )
    api_keys_file: ApiKeysFile = Field("", description="File of `sha256:<hex>:tenant[:R[:A]]` lines: API keys at rest as digests.")
    allow_anonymous: Switch = Field(False, description="Let the API bind beyond loopback with no API keys (else it refuses to start).")
    public_pages: Switch = Field(False, description="With API keys set, serve the playground and `/docs` without a key too.")
    stream_token_ttl: int = Field(600, ge=10, le=86400, description="Seconds a stream token (`?token=` of the stream routes) stays valid.")
    body_timeout: float = Field(10.0, ge=0.5, le=3600, description="Seconds a client may take to send a request body; slower gets `408`.")
    max_queued: int = Field(
        256,
        ge=0,
        le=1_000_000,
        description="Jobs waiting (not yet running) across all API processes; past it every submit answers `429` with `Retry-After`. "
        "0: no bound. The default holds 8 full batches of the default worker.",
    )
    rate_limit: int = Field(
        0, ge=0, le=1_000_000, description="Requests per minute per tenant (a moving window in Redis); 0 turns it off. `429` past it."
    )
    tenant_max_active: int = Field(
        0, ge=0, le=1_000_000, description="Most jobs one tenant may have queued or running at once; 0 turns it off. `429` past it."
    )
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API binds to.")
    api_workers: int = Field(2, ge=1, le=64, description="gunicorn worker processes for the API.")
    api_worker_class: Literal["gevent", "gthread"] = Field(
        "gevent",
        description="gunicorn worker class: `gevent` (one greenlet per connection: hundreds of open streams are cheap) or `gthread`.",
    )
    api_connections: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Open connections (streams included) per gunicorn worker: gevent's worker connections, or gthread's threads.",
    )
    flower_port: int = Field(5555, ge=0, le=65535, description="Port of Celery Flower started by `llmjobs up`; 0 leaves Flower out.")
    cache: Switch = Field(
        True,
        description="Result cache checked by the API before enqueueing (`on`/`off`): exact duplicates, then paraphrases (semantic tier). "
        'Requests can opt out with `"cache": false` or `Cache-Control: no-cache`.',
    )
    cache_semantic: Switch = Field(
        True,
        description="The semantic tier (`on`/`off`): all-MiniLM-L6-v2 embeddings, cosine similarity within the same model, "
        "sampling parameters, conversation and tenant.",
    )
    cache_threshold: float = Field(
        0.85,  # 0.80 served 9 more of the adversarial review's near misses (docs/BENCHMARKS_LOG.md, 2026-11-30)
        ge=0.5,
        le=1.0,
        description="Cosine similarity a paraphrase needs for a semantic hit (it must also pass the near-miss checks of `cache/guard.py`).",
    )
    cache_ttl: int = Field(86400, ge=1, le=365 * 86400, description="Seconds a cached answer is kept.")
    cache_max_entries: int = Field(
        10000,
        ge=1,
        le=10_000_000,
        description="Most cached answers per namespace (model + sampling parameters + conversation + tenant); "
        "the oldest are evicted first.",
    )
    cache_sampled: Switch = Field(
        False,
        description="Also cache sampled requests (temperature > 0 without a `seed`), whose answers differ on every run; off by default.",
    )
    cache_tenant_modes: str = Field(
        "",
        pattern=r"^(\s*[^\s,:]+:(off|exact|semantic)\s*(,\s*[^\s,:]+:(off|exact|semantic)\s*)*)?$",
        json_schema_extra=expects("comma-separated tenant:mode pairs, mode off, exact or semantic"),
        description="Per-tenant result cache strictness, `tenant:mode,...` with mode `off` (no cache), `exact` (exact tier only) "
        "or `semantic` (both tiers, the default); a request's `X-Cache-Mode` header can only make it stricter.",
    )
    tracing: Literal["off", "console", "otlp"] = Field(
        "off",
        description="OpenTelemetry traces, one per job across API, queue and worker: `off`, `console` (printed by each process) or `otlp`.",
    )
    otlp_endpoint: str = Field("http://127.0.0.1:4318/v1/traces", description="Where `LLMJOBS_TRACING=otlp` sends spans (OTLP over HTTP).")
    run_dir: ExpandedPath = Field(Path(".run"), description="Folder for the embedded Redis's data and logs under `llmjobs up`.")
    files_dir: str = Field(
        "",
        description="Where uploaded files and batch outputs are kept (Redis holds their metadata only): a folder, or any fsspec URL "
        "such as `s3://bucket/prefix` for several hosts; empty: `files/` under `LLMJOBS_RUN_DIR`.",
    )
    tenant_max_batches: int = Field(0, ge=0, description="Batches one tenant may have not yet ended (more: `429`); 0: no cap.")
    tenant_max_file_bytes: int = Field(0, ge=0, description="Bytes of uploaded files one tenant may store (more: `413`); 0: no cap.")
    batch_headroom: int = Field(
        0, ge=0, description="Worker slots batch lines always leave free for interactive jobs; 0: an eighth of the live slots (at least 1)."
    )
    batch_yield_inflight: int = Field(
        1, ge=1, description="Batch lines queued or running at once, all batches together, while interactive jobs are queued or running."
    )
    batch_max_inflight: int = Field(0, ge=0, description="Most batch lines queued or running at once, all batches together; 0: no cap.")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        # Checks across variables; raised as ConfigError so they name the variable to change.
        if self.default_max_tokens > self.max_tokens:
            raise ConfigError("LLMJOBS_DEFAULT_MAX_TOKENS", f"must not exceed LLMJOBS_MAX_TOKENS ({self.max_tokens})")
        if self.lease_ttl < 2 * self.heartbeat_interval:
            raise ConfigError(
                "LLMJOBS_LEASE_TTL", f"must be at least two heartbeats (2 x LLMJOBS_HEARTBEAT_INTERVAL = {2 * self.heartbeat_interval:g} s)"
            )
        if self.speculative == "draft-model" and not self.draft_model:
            raise ConfigError("LLMJOBS_SPECULATIVE", "draft-model needs LLMJOBS_DRAFT_MODEL (a smaller model with the same tokenizer)")
        return self


def env_text(value: object) -> str:
    """A value written as its variable would be: switches as on/off, 2.0 as 2."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


# name -> (default, meaning), derived from the model: the README table and deploy checks use it.
ENV_VARS: dict[str, tuple[str, str]] = {
    str(info.alias): (env_text(info.default), info.description or "") for info in Settings.model_fields.values()
}


def markdown_table() -> str:
    """The README's configuration table, generated from the model (a unit test compares the two)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {f'`{default}`' if default else '(empty)'} | {meaning} |" for name, (default, meaning) in ENV_VARS.items()]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
