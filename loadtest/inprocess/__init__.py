"""In-process benchmarks and quality checks: the engine, speculative decoding, prefix reuse, the result cache and the GPU run, without the HTTP stack."""
