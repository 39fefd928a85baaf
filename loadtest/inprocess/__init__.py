"""In-process benchmarks and quality checks, without the HTTP stack: the engine (``engine_bench``),
speculative decoding (``spec_bench``), weight formats (``quality``), prefix reuse (``prefix_bench``),
the result cache's parts (``cache_bench``), its false hits and recall on the labelled pairs in
``data/`` (``cache_eval``) and the GPU run (``gpu_bench``). Each runs as
``python -m loadtest.inprocess.<name>``; the engine benchmarks share ``driver.drive``.
"""
