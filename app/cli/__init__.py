"""The `llmjobs` command: prepare, worker, api, flags, and `llmjobs up` (the whole stack, with an embedded Redis when none answers)."""
