"""sample(): each row's next token under its own sampling settings (small tensors, no model)."""

from types import SimpleNamespace

import torch

from app.engine.sampler import sample
from app.engine.types import SamplingParams

VOCAB = 50


def row(**sampling) -> SimpleNamespace:
    """What sample() reads of a sequence: its sampling settings and its generator (made on first use)."""
    return SimpleNamespace(sampling=SamplingParams(max_tokens=16, **sampling), generator=None)


def logits(batch: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, VOCAB, generator=torch.Generator().manual_seed(seed))  # (B, V)


def test_greedy_picks_the_argmax_of_each_row():
    scores = logits(4)
    seqs = [row(temperature=0.0) for _ in range(4)]
    assert sample(scores, seqs) == scores.argmax(dim=-1).tolist()
    assert all(s.generator is None for s in seqs)  # greedy rows never draw


def test_a_temperature_too_small_to_divide_by_is_greedy():
    scores = logits(2, seed=1)
    assert sample(scores, [row(temperature=1e-7), row(temperature=1e-7)]) == scores.argmax(dim=-1).tolist()


def test_top_k_one_equals_greedy_whatever_the_temperature():
    for step in range(20):
        scores = logits(3, seed=step)
        assert sample(scores, [row(temperature=2.0, top_k=1) for _ in range(3)]) == scores.argmax(dim=-1).tolist()


def test_top_p_always_keeps_the_most_likely_token():
    for step in range(20):
        scores = logits(2, seed=step)
        # A mass no single token reaches: only the first of the sorted tokens stays.
        assert (
            sample(scores, [row(temperature=1.5, top_p=1e-6), row(temperature=1.5, top_p=1e-6, seed=step)])
            == scores.argmax(dim=-1).tolist()
        )


def test_top_k_draws_only_among_the_k_best():
    scores = logits(1, seed=3)
    best = set(torch.topk(scores[0], 3).indices.tolist())
    seq = row(temperature=2.0, top_k=3, seed=11)
    draws = {sample(scores, [seq])[0] for _ in range(200)}
    assert draws <= best and len(draws) > 1  # sampled, not greedy, and never outside the top 3


def test_the_same_seed_gives_the_same_draws_whatever_else_is_in_the_batch():
    steps = [logits(1, seed=100 + i)[0] for i in range(30)]

    alone_seq = row(temperature=1.0, top_p=0.95, top_k=40, seed=7)
    alone = [sample(step.unsqueeze(0), [alone_seq])[0] for step in steps]

    seeded = row(temperature=1.0, top_p=0.95, top_k=40, seed=7)
    companions = [row(temperature=0.8), row(temperature=0.0), row(temperature=1.3, seed=99)]
    together = []
    for i, step in enumerate(steps):
        batch = torch.stack([logits(1, seed=i)[0], step, logits(1, seed=1000 + i)[0], logits(1, seed=2000 + i)[0]])  # (4, V)
        together.append(sample(batch, [companions[0], seeded, companions[1], companions[2]])[1])
    assert together == alone
    assert len(set(alone)) > 1  # these were draws, not argmaxes


def test_another_seed_draws_otherwise():
    step = logits(1, seed=5)

    def draws(seed):
        seq = row(temperature=1.0, seed=seed)
        return [sample(step, [seq])[0] for _ in range(40)]

    assert draws(1) == draws(1)
    assert draws(2) != draws(1)
