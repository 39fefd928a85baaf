"""The result cache the API checks before enqueueing: an exact tier and a semantic tier.

``keys`` (what makes two requests the same), ``guard`` (the one rule that lets a similar
prompt share an answer), ``word_filter`` (which lookups need no embedding), ``embedder``
(all-MiniLM-L6-v2), ``index`` (this process's nearest-neighbour search), ``store`` (entries in
Redis, shared by every process), ``index_sync`` (the index kept in step with Redis) and
``result_cache`` (the lookup/insert facade the API and the workers call).
"""
