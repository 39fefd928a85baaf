"""The Redis variables, first in the README table: the base class of ``app.settings.variables.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.settings.redis_url import is_sentinel, parse_sentinel


def expects(text: str) -> dict[str, str]:
    # pydantic's own message for a pattern quotes the regex; the operator reads this instead.
    return {"expects": text}


class RedisSettings(BaseModel):
    """The first rows of the README table: where Redis is and how keys are named (the base of ``Settings``)."""

    model_config = ConfigDict(
        alias_generator=lambda name: f"LLMJOBS_{name.upper()}",
        extra="ignore",
        frozen=True,
        protected_namespaces=(),  # `model_cache` is ours, not pydantic's
        validate_default=True,  # so defaults get the same conversion (`~` expanded, keys parsed)
    )

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        pattern=r"^(redis|rediss|unix|sentinel)://",
        json_schema_extra=expects("a redis://, rediss:// or unix:// URL, or sentinels as sentinel://h1:26379;sentinel://h2:26379/0"),
        description="Redis for the broker, job records and worker heartbeats. "
        "`make run` starts an embedded Redis when nothing answers here. With Redis Sentinel: the sentinels, "
        "`sentinel://h1:26379;sentinel://h2:26379;sentinel://h3:26379/0` (the master's password as `sentinel://:pw@h1:26379;...` "
        "or from the password file); every process then follows a failover to the new master.",
    )
    redis_password_file: str = Field(
        "", description="A file holding Redis' password (a compose secret), added to the URL in memory only. With Sentinel: the master's."
    )
    redis_sentinel_master: str = Field(
        "mymaster",
        pattern=r"^\S+$",
        json_schema_extra=expects("the master's name as the sentinels know it (`sentinel monitor <name> ...`)"),
        description="With a `sentinel://` URL: the name of the master the sentinels monitor.",
    )
    redis_sentinel_password_file: str = Field(
        "",
        description="With a `sentinel://` URL: a file holding the sentinels' own password (their `requirepass`); "
        "empty: the sentinels are asked without one.",
    )
    redis_wait_replicas: int = Field(
        0,
        ge=0,
        le=16,
        description="Replicas that must acknowledge a new job before the API answers (Redis `WAIT`), so a failover cannot lose it; "
        "0 turns it off. A job the replicas did not acknowledge in time is still accepted, logged and counted "
        "(`llmjobs_jobs_unreplicated_total`).",
    )
    redis_wait_timeout: float = Field(
        0.5, ge=0.01, le=4, description="Seconds a submit waits for `LLMJOBS_REDIS_WAIT_REPLICAS` to acknowledge the new job."
    )
    key_prefix: str = Field(
        "llmjobs",
        pattern=r"^[^\s{}]+$",
        json_schema_extra=expects("a non-empty word without spaces or braces"),
        description="Prefix of every Redis key the project writes (job records, queue index, heartbeats).",
    )

    @field_validator("redis_url")
    @classmethod
    def _sentinels_parse(cls, url: str) -> str:
        if is_sentinel(url):
            parse_sentinel(url)  # its ValueError names what is wrong with the URL
        return url
