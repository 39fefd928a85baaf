"""Structured outputs: what a request asks its output to be (JSON, a schema, a regex, a choice, a grammar, tool
calls), checked and put in one canonical form before the job is queued; the engine enforces it token by token
(app/engine/structured_output.py) with llguidance's grammars."""
