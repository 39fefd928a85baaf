"""The embedder's group commit: prompts embedded together get the vectors they get alone."""

import threading

import numpy as np

from cache.embedder import Embedder


def test_concurrent_prompts_are_batched_and_embed_as_alone():
    embedder = Embedder()
    texts = [f"How many legs does a {animal} have?" for animal in ("spider", "cat", "bird", "ant", "crab", "snake")]
    alone = [embedder.embed(text) for text in texts]
    calls = []
    encode = embedder.model.encode
    embedder.model.encode = lambda batch, **kw: calls.append(len(batch)) or encode(batch, **kw)
    together: list = [None] * len(texts)
    with embedder._lock:  # hold the model while every prompt arrives: the next holder embeds them all at once
        threads = [threading.Thread(target=lambda i=i: together.__setitem__(i, embedder.embed(texts[i]))) for i in range(len(texts))]
        for thread in threads:
            thread.start()
        while len(embedder._waiting) < len(texts):
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    assert calls == [len(texts)]
    for mine, theirs in zip(alone, together, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
    assert embedder.embed("word " * 400) is None  # past the model's window: no semantic lookup
