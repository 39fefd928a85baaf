"""Optional OpenTelemetry tracing (``LLMJOBS_TRACING``: off, console or otlp), off by default.

One trace per job: the API's ``llmjobs.submit`` span is the root; its W3C trace context rides in
the Celery message headers (``traceparent``), and the worker's ``llmjobs.generate`` span (with
the job's queue wait, TTFT and token counts as attributes) continues the same trace. With
tracing off every call here is a no-op and nothing is exported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace

from app.config import TracingConfig

log = logging.getLogger(__name__)
_configured = False


def setup(config: TracingConfig, service: str) -> None:
    """Install the exporter for this process (once)."""
    global _configured
    if config.mode == "off" or _configured:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if config.mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: Any = OTLPSpanExporter(endpoint=config.otlp_endpoint)
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _configured = True
    log.info("tracing on: %s", config.mode if config.mode == "console" else f"OTLP to {config.otlp_endpoint}")


def tracer() -> trace.Tracer:
    return trace.get_tracer("llmjobs")


def headers() -> dict[str, str]:
    """The current trace context as message headers (empty when tracing is off)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def continued(name: str, carrier: dict[str, Any] | None, **attributes: Any) -> Iterator[trace.Span]:
    """A span that continues the trace whose context ``carrier`` (message headers) holds."""
    context = propagate.extract({k: v for k, v in (carrier or {}).items() if isinstance(v, str)})
    with tracer().start_as_current_span(name, context=context, kind=trace.SpanKind.CONSUMER, attributes=attributes) as span:
        yield span
