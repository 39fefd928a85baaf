"""The framework-free core of llmjobs: configuration, the engine, jobs, live switches, observability and the CLI."""
