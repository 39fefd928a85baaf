"""Benchmarks and load tools for llmjobs.

``python -m loadtest`` and ``loadtest.delivery`` speak HTTP only; ``loadtest.inprocess`` holds the
benchmarks that run the engine (or the cache's parts) in this process. Both drive requests with
``loadtest.driver`` and report percentiles with ``loadtest.stats.percentile``.
"""
