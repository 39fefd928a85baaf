"""sample(): each row's next token under its own sampling settings (small tensors, no model)."""

from types import SimpleNamespace

import pytest
import torch

from app.engine.sampler import adjust_logits, prompt_logprobs, sample, sample_with_logprobs
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


def history_row(prompt=(), output=(), eos=(), **sampling) -> SimpleNamespace:
    """A row with the history penalties and min_tokens read: the prompt, the output so far, the EOS ids."""
    return SimpleNamespace(
        sampling=SamplingParams(max_tokens=16, **sampling),
        generator=None,
        request=SimpleNamespace(prompt_token_ids=list(prompt)),
        output=SimpleNamespace(token_ids=list(output), eos_token_ids=frozenset(eos)),
    )


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens():
    scores = torch.tensor([2.0, -1.0, 3.0, 0.5])
    adjusted = adjust_logits(scores.clone(), SamplingParams(max_tokens=4, repetition_penalty=2.0), [0], [1], [])
    assert adjusted.tolist() == [1.0, -2.0, 3.0, 0.5]


def test_frequency_and_presence_penalties_count_the_output_only():
    scores = torch.zeros(4)
    params = SamplingParams(max_tokens=4, frequency_penalty=0.5, presence_penalty=1.0)
    adjusted = adjust_logits(scores, params, [3, 3, 3], [1, 1, 2], [])
    assert adjusted.tolist() == [0.0, -2.0, -1.5, 0.0]


def test_a_penalty_changes_the_greedy_choice_of_its_row_only():
    scores = torch.tensor([[0.0, 5.0, 4.0], [0.0, 5.0, 4.0]])
    penalised = history_row(output=[1], temperature=0.0, presence_penalty=2.0)
    plain = history_row(output=[1], temperature=0.0)
    assert sample(scores, [penalised, plain]) == [2, 1]
    assert scores[0].tolist() == [0.0, 5.0, 4.0]  # the caller's logits are left alone


def test_min_tokens_masks_eos_until_reached():
    scores = torch.tensor([[9.0, 1.0, 0.0]])
    assert sample(scores, [history_row(output=[1], eos=[0], temperature=0.0, min_tokens=2)]) == [1]
    assert sample(scores, [history_row(output=[1, 1], eos=[0], temperature=0.0, min_tokens=2)]) == [0]


def test_logprobs_are_of_the_raw_logits_whatever_the_sampling():
    scores = logits(2, seed=4)
    seqs = [history_row(output=[3], temperature=0.0, presence_penalty=2.0, logprobs=2), history_row(temperature=0.0)]
    tokens, logprobs = sample_with_logprobs(scores, seqs)
    expected = torch.log_softmax(scores[0], dim=-1)
    assert logprobs[1] is None
    assert logprobs[0].token_id == tokens[0] and logprobs[0].logprob == pytest.approx(float(expected[tokens[0]]), abs=1e-6)
    top = torch.topk(expected, 2)
    assert [t for t, _ in logprobs[0].top] == top.indices.tolist()
    assert [p for _, p in logprobs[0].top] == pytest.approx(top.values.tolist(), abs=1e-6)


@pytest.mark.parametrize("rows_at_a_time", [256, 2])
def test_prompt_logprobs_score_each_token_from_the_position_before_it(monkeypatch, rows_at_a_time):
    monkeypatch.setattr("app.engine.sampler.PROMPT_ROWS", rows_at_a_time)
    scores = logits(5, seed=8)  # (T=5, V)
    ids = [5, 7, 9, 11, 13]
    result = prompt_logprobs(scores, ids, num_top=0)
    assert result[0] is None and len(result) == 5
    for t in range(1, 5):
        assert result[t].token_id == ids[t]
        assert result[t].logprob == pytest.approx(float(torch.log_softmax(scores[t - 1], -1)[ids[t]]), abs=1e-6)
