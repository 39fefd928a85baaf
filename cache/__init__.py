"""The result cache the API checks before enqueueing: an exact tier and a semantic tier.

``keys`` (what makes two requests the same), ``guard`` (what makes two similar
prompts different), ``embedder`` (all-MiniLM-L6-v2), ``index`` (this process's
nearest-neighbour search), ``store`` (entries in Redis, shared by every process)
and ``result_cache`` (the lookup/insert facade the API and the workers call).
"""
