"""The webhook variables (rows of the README table right after Redis'): a base of ``app.settings.variables.Settings``,
and what they become for the webhook parts (``webhook_config``)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, field_validator
from standardwebhooks import Webhook

from app.errors import ConfigError
from app.settings.redis_settings import RedisSettings, expects
from app.settings.value_types import KeySpec
from app.webhooks.config import WebhookConfig
from app.webhooks.schedule import DEFAULT_RETRY_S, horizon_s, parse_schedule
from app.webhooks.url_policy import AllowList, url_problem


def check_secret(secret: str) -> str:
    """A Standard Webhooks secret, ``whsec_`` + base64 of 24 to 64 random bytes (``llmjobs keys webhook-secret``)."""
    if not secret.startswith("whsec_"):
        raise ValueError("must start with whsec_ (make one with `llmjobs keys webhook-secret`)")
    try:
        Webhook(secret)
    except (ValueError, TypeError, RuntimeError) as exc:  # binascii.Error is a ValueError
        raise ValueError(f"is not whsec_ + base64 ({exc})") from None
    return secret


class WebhookSettings(RedisSettings):
    webhook_url: str = Field(
        "",
        description="Default webhook for the jobs and batches of every tenant without one of its own (`webhook_url=` in the keys file); "
        "a request's `webhook` field overrides it. Empty: none.",
    )
    webhook_secret: str = Field(
        "",
        json_schema_extra=expects("whsec_ followed by base64"),
        description="The Standard Webhooks secret (`whsec_...`) that signs every tenant's webhooks but those with their own "
        "(`webhook_secret=` in the keys file); `llmjobs keys webhook-secret` "
        "makes one. Empty: only tenants with their own may have webhooks.",
    )
    webhook_allow: str = Field(
        "",
        description="Webhook hosts allowed although they resolve to non-public addresses (loopback, private, link-local): a comma list of "
        "hosts, `host:port` pairs or networks (`10.0.0.0/8`). Empty: public addresses only.",
    )
    webhook_retry_s: str = Field(
        DEFAULT_RETRY_S,
        pattern=r"^\s*[0-9.]+\s*(,\s*[0-9.]+\s*)*$",
        json_schema_extra=expects("comma-separated positive seconds"),
        description="Seconds between a failed webhook delivery and the next try, one per retry (±10 % jitter); after the last, "
        "the event is marked failed. A `410 Gone` stops at once.",
    )
    webhook_timeout: float = Field(
        10.0, gt=0, le=120, description="Seconds a webhook receiver has to answer before the try counts as failed."
    )
    webhook_max_output_bytes: int = Field(
        65536, ge=0, description="A job's output longer than this is left out of its webhook (`output_url` says where to fetch it)."
    )
    webhook_concurrency: int = Field(64, ge=1, le=1000, description="Deliveries one webhook worker makes at once (gevent greenlets).")
    public_url: str = Field(
        "",
        pattern=r"^(https?://\S+)?$",
        json_schema_extra=expects("an http(s):// URL or nothing"),
        description="Where clients reach the API, for links in webhooks (a long output's `output_url`); empty: `http://LLMJOBS_HOST:LLMJOBS_PORT`.",
    )

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, url: str) -> str:
        if url and (problem := url_problem(url)):
            raise ValueError(problem)
        return url

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, secret: str) -> str:
        return check_secret(secret) if secret else secret

    @field_validator("webhook_retry_s")
    @classmethod
    def _schedule(cls, raw: str) -> str:
        parse_schedule(raw)
        return raw

    @field_validator("webhook_allow")
    @classmethod
    def _allow(cls, raw: str) -> str:
        AllowList.parse(raw)
        return raw


def secret_problem(secret: str) -> str | None:
    try:
        check_secret(secret)
    except ValueError as exc:
        return str(exc)
    return None


def webhook_config(s: WebhookSettings, keys: Mapping[str, KeySpec], *, queue: str, api_address: str, job_ttl_s: int) -> WebhookConfig:
    urls, secrets = {}, {}
    for spec in keys.values():
        for name, value, into in (("webhook_url", spec.webhook_url, urls), ("webhook_secret", spec.webhook_secret, secrets)):
            if value is None:
                continue
            problem = url_problem(value) if name == "webhook_url" else secret_problem(value)
            if problem or into.get(spec.tenant, value) != value:
                raise ConfigError("LLMJOBS_API_KEYS_FILE", f"tenant {spec.tenant}'s {name} {problem or 'differs between two of its keys'}")
            into[spec.tenant] = value
    schedule = parse_schedule(s.webhook_retry_s)
    return WebhookConfig(
        default_url=s.webhook_url,
        secret=s.webhook_secret,
        tenant_urls=urls,
        tenant_secrets=secrets,
        allow=AllowList.parse(s.webhook_allow),
        retry_s=schedule,
        timeout_s=s.webhook_timeout,
        max_output_bytes=s.webhook_max_output_bytes,
        concurrency=s.webhook_concurrency,
        public_url=(s.public_url or f"http://{api_address}").rstrip("/"),
        queue=f"{queue}-webhooks",
        event_ttl_s=int(max(job_ttl_s, horizon_s(schedule) + 86400)),
    )
