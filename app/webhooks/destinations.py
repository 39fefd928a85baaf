"""Which webhook a new job or batch gets: the request's own ``webhook``, else its tenant's default; checked
against the URL policy before the job is accepted, so a bad URL is a 400 now rather than a failed delivery later."""

from __future__ import annotations

from app.errors import InvalidRequestError
from app.webhooks.config import WebhookConfig
from app.webhooks.outbox import Destination
from app.webhooks.url_policy import Resolve, UnsafeDestination, check_destination, system_resolve


class Destinations:
    def __init__(self, config: WebhookConfig, resolve: Resolve = system_resolve) -> None:
        self.config = config
        self.resolve = resolve

    def for_request(self, tenant: str, requested: str | None) -> Destination | None:
        """``requested``: the request's ``webhook`` (None: the tenant's default; ``""``: none at all)."""
        url = self.config.url_for(tenant) if requested is None else requested
        if not url:
            return None
        whose = "webhook" if requested is not None else "webhook (this tenant's default, LLMJOBS_WEBHOOK_URL)"
        if not self.config.secret_for(tenant):
            secret = "LLMJOBS_WEBHOOK_SECRET, or webhook_secret= in the keys file"
            raise InvalidRequestError("webhook", f"{whose}: no signing secret is configured for this tenant ({secret})")
        try:
            check_destination(url, self.config.allow, self.resolve)
        except UnsafeDestination as exc:
            raise InvalidRequestError("webhook", f"{whose}: {exc}") from None
        return Destination(url, self.config.event_ttl_s)
