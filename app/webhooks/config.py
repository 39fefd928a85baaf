"""What the webhook parts need of the configuration (built by ``app.config.load_config`` from the webhook
variables: ``app.settings.webhook_settings.webhook_config``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.webhooks.url_policy import AllowList


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
