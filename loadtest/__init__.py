"""Benchmarks and load tools for llmjobs. They speak HTTP only; they never import the engine."""
