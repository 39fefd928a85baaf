"""Observability: Prometheus metrics, OpenTelemetry tracing and process memory."""
