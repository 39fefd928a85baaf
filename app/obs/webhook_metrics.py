"""The webhook series on the API's ``/metrics``, from the counters every delivery task keeps in Redis
(app/webhooks/outbox.py): the same for every API process, whichever webhook worker made the attempt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from app.webhooks.outbox import LATENCY_BUCKETS

PREFIX = "llmjobs_"
OUTCOMES = ("delivered", "retry", "failed")


def webhook_families(stats: dict[str, float]) -> Iterator[Any]:
    attempts = CounterMetricFamily(
        PREFIX + "webhook_deliveries",
        "Webhook attempts by outcome: delivered (2xx), retry (failed, tried again later), failed (given up: schedule spent or 410).",
        labels=["outcome"],
    )
    for outcome in OUTCOMES:
        attempts.add_metric([outcome], stats.get(outcome, 0))
    yield attempts
    cumulative, buckets = 0.0, []
    for bound in [f"{bound:g}" for bound in LATENCY_BUCKETS] + ["+Inf"]:
        cumulative += stats.get(f"le:{bound}", 0)
        buckets.append((bound, cumulative))
    yield HistogramMetricFamily(
        PREFIX + "webhook_delivery_latency_seconds",
        "From a job's or batch's end to its webhook's 2xx, retries included.",
        buckets=buckets,
        sum_value=stats.get("latency_sum", 0.0),
    )
    yield GaugeMetricFamily(PREFIX + "webhooks_pending", "Webhook events not yet delivered nor given up on.", value=stats.get("pending", 0))
    failed = "Webhook events given up on, still listed (GET /v1/webhooks/failed)."
    yield GaugeMetricFamily(PREFIX + "webhooks_failed", failed, value=stats.get("failed_now", 0))
