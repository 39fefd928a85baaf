"""Benchmarks and load tools for llmjobs. The load tool speaks HTTP only; `gpu_bench` and `prefix_bench` run the engine in-process."""
