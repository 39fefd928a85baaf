"""Live rollback switches: their store in Redis, how workers and API processes apply them, and the `llmjobs flags` command."""
