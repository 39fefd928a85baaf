"""The framework-free core of llmjobs: configuration, job records, models and engines."""
