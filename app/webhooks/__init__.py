"""Webhooks: a signed callback (Standard Webhooks) when a job or a batch ends.

Whichever Lua step ends a job or a batch also writes its event to an outbox in Redis (outbox.py), so
no end goes unannounced whatever dies next; a relay hands due events to Celery tasks on their own
queue (workers/webhook_tasks.py), which sign and send them (delivery.py) and schedule the retries.
"""
