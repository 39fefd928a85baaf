"""Celery side of llmjobs: the one Celery app, thin tasks, the per-process engine host."""
