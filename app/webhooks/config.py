"""What the webhook parts need of the configuration (built by ``app.config.load_config``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.errors import ConfigError
from app.settings_types import KeySpec
from app.webhooks.schedule import horizon_s, parse_schedule
from app.webhooks.settings import WebhookSettings, check_secret
from app.webhooks.url_policy import AllowList, url_problem


@dataclass(frozen=True)
class WebhookConfig:
    default_url: str = ""
    secret: str = field(default="", repr=False)
    tenant_urls: Mapping[str, str] = field(default_factory=dict)
    tenant_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    allow: AllowList = AllowList()
    retry_s: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    timeout_s: float = 10.0
    max_output_bytes: int = 65536
    concurrency: int = 64
    public_url: str = "http://127.0.0.1:8000"  # links in payloads
    queue: str = "llmjobs-webhooks"  # the Celery queue of the delivery tasks
    event_ttl_s: int = 86400  # an event's record: its retries' horizon and a day more (its job's ttl at least)

    def secret_for(self, tenant: str) -> str:
        return self.tenant_secrets.get(tenant, self.secret)

    def url_for(self, tenant: str) -> str:
        """The tenant's default webhook ('' for none)."""
        return self.tenant_urls.get(tenant, self.default_url)

    @property
    def lease_s(self) -> float:
        """How long a dispatched delivery is its task's: past it (its worker died), the relay sends the event again."""
        return 2 * self.timeout_s + 5


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
