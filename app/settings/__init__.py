"""The ``LLMJOBS_*`` variables as pydantic models, each declared once: ``variables`` (the model of them all and
the README's table), ``redis_settings`` and ``webhook_settings`` (its first rows, as its bases), ``redis_url``
(``LLMJOBS_REDIS_URL``: its password, its redacted form, the Sentinel form), ``value_types`` (switches, paths,
API keys) and ``validation_errors`` (pydantic's errors as one line naming the variable). ``app.config`` turns
them into the components' dataclasses."""
