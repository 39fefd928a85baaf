"""Speculative decoding's pure logic: prompt-lookup drafting, how much of a draft is kept, and the
per-request back-off policy (token arithmetic and a fake runner, no model)."""

import pytest
import torch

from app.engine.backoff import BACKOFF_TOKENS, Backoff
from app.engine.output_processor import OutputProcessor
from app.engine.prompt_lookup import propose
from app.engine.sequence import Sequence
from app.engine.speculator import Speculator, accepted_length
from app.engine.types import GenerationRequest, SamplingParams
from tests.helpers.byte_tokenizer import byte_tokenizer


def test_proposes_what_followed_the_latest_earlier_match_of_the_longest_suffix():
    #             the cat sat on the mat . the cat
    tokens = [1, 2, 3, 4, 1, 5, 6, 1, 2]
    assert propose(tokens, num_draft=3) == [3, 4, 1]  # "1 2" matched at the start
    assert propose([7, 8, 9], num_draft=3) == []  # nothing repeats
    assert propose([1, 2, 1], num_draft=2, max_ngram=3) == [2, 1]  # falls back to shorter n-grams
    assert propose([5, 5, 5, 5], num_draft=2) == [5]  # the latest earlier match
    assert propose(tokens, num_draft=0) == []


def test_accepted_length_is_the_agreeing_prefix():
    assert accepted_length([3, 4, 1], [3, 4, 9, 7]) == 2
    assert accepted_length([3, 4], [3, 4, 5]) == 2
    assert accepted_length([3], [8, 1]) == 0
    assert accepted_length([], [8]) == 0
    assert accepted_length([1, 2, 3], [1, 2]) == 2  # the common prefix of two lists of any lengths


# --- the back-off policy ---


def test_a_pass_that_pays_never_backs_off():
    backoff = Backoff()
    for produced in range(0, 100, 5):
        assert not backoff.record(per_token_s=0.01, plain_step_s=0.02, produced=produced)
        assert not backoff.paused(produced)
    assert backoff.resume_at == 0


def test_a_pass_that_costs_more_than_a_plain_step_pauses_drafting():
    backoff = Backoff()
    assert backoff.record(per_token_s=0.05, plain_step_s=0.02, produced=10)
    assert backoff.paused(10) and backoff.paused(10 + BACKOFF_TOKENS - 1)
    assert not backoff.paused(10 + BACKOFF_TOKENS)  # then it tries again
    assert backoff.step_s is None  # a fresh average for the next try


def test_each_further_miss_waits_twice_as_long():
    backoff = Backoff()
    resumes = []
    produced = 0
    for _ in range(3):
        assert backoff.record(per_token_s=1.0, plain_step_s=0.1, produced=produced)
        resumes.append(backoff.resume_at - produced)
        produced = backoff.resume_at
    assert resumes == [BACKOFF_TOKENS, 2 * BACKOFF_TOKENS, 4 * BACKOFF_TOKENS]


def test_the_cost_is_a_moving_average_not_one_pass():
    backoff = Backoff()
    assert not backoff.record(per_token_s=0.01, plain_step_s=0.02, produced=1)
    # One slow pass: the average (0.5 * 0.01 + 0.5 * 0.025 = 0.0175) still pays.
    assert not backoff.record(per_token_s=0.025, plain_step_s=0.02, produced=2)
    assert backoff.step_s == pytest.approx(0.0175)
    # A second one tips it over (0.5 * 0.0175 + 0.5 * 0.04 = 0.02875 > 0.02).
    assert backoff.record(per_token_s=0.04, plain_step_s=0.02, produced=3)


def test_give_up_stops_drafting_for_the_rest_of_the_request():
    backoff = Backoff()
    backoff.give_up(max_tokens=64)
    assert all(backoff.paused(n) for n in range(65))


# --- the speculator's step, with a fake runner ---

VOCAB = 16
EOS = 15


class FakeRunner:
    """Verification answers with the model's choice after each draft prefix: ``truth`` continues the sequence."""

    def __init__(self, truth):
        self.truth = truth
        self.rewound = []

    def verify(self, last_token, draft):
        produced = len(self.seq.output.token_ids)
        logits = torch.zeros(len(draft) + 1, VOCAB)  # (positions, V): one row per draft token, plus the next
        for row in range(len(draft) + 1):
            logits[row, self.truth[produced + row]] = 1.0
        return logits

    def rewind(self, num_tokens):
        self.rewound.append(num_tokens)


def lone_sequence(prompt, max_tokens=12, temperature=0.0):
    request = GenerationRequest("r", list(prompt), SamplingParams(max_tokens=max_tokens, temperature=temperature))
    return Sequence(request, OutputProcessor(byte_tokenizer(), eos_token_ids=[EOS], max_tokens=max_tokens), None, deadline=1e18)


def speculate(seq, truth, plain_step_s, mode="prompt-lookup"):
    runner = FakeRunner(truth)
    runner.seq = seq
    speculator = Speculator(runner, num_draft_tokens=3)
    speculator.set_mode(mode)
    if plain_step_s is not None:
        speculator.record_plain_step(plain_step_s)

    def postprocess(seqs, tokens):
        for s, token in zip(seqs, tokens, strict=True):
            s.output.append(token)

    return speculator, runner, postprocess


def test_a_verified_draft_keeps_the_agreed_prefix_and_the_models_next_token():
    prompt = [1, 2, 3, 4, 5, 1, 2]  # "1 2" repeats: prompt lookup drafts 3 4 5
    seq = lone_sequence(prompt)
    speculator, runner, postprocess = speculate(seq, truth=[3, 4, 9, 9, 9, 9], plain_step_s=1e9)
    assert speculator.step([seq], last_token=2, postprocess=postprocess)
    assert seq.output.token_ids == [3, 4, 9]  # two agreed, then the model's own choice
    assert runner.rewound == [1]  # the rejected guess leaves the KV
    assert (speculator.num_drafts, speculator.num_proposed_tokens, speculator.num_accepted_tokens) == (1, 3, 2)
    assert speculator.num_backoffs == 0 and not seq.backoff.paused(len(seq.output.token_ids))


def test_a_pass_slower_than_a_plain_step_backs_the_request_off():
    seq = lone_sequence([1, 2, 3, 4, 5, 1, 2], max_tokens=64)
    speculator, _, postprocess = speculate(seq, truth=[7] * 64, plain_step_s=1e-12)  # nothing is faster than this
    assert speculator.step([seq], last_token=2, postprocess=postprocess)
    assert speculator.num_backoffs == 1
    produced = len(seq.output.token_ids)
    assert seq.backoff.paused(produced)
    assert not speculator.step([seq], last_token=seq.output.token_ids[-1], postprocess=postprocess)  # decodes plainly
    assert len(seq.output.token_ids) == produced


def test_no_speculation_where_it_does_not_apply():
    prompt = [1, 2, 3, 4, 5, 1, 2]
    truth = [3, 4, 5, 6]
    seq = lone_sequence(prompt)
    off, _, postprocess = speculate(seq, truth, plain_step_s=1e9, mode="off")
    assert not off.step([seq], 2, postprocess)
    unmeasured, _, postprocess = speculate(seq, truth, plain_step_s=None)  # no plain step measured yet
    assert not unmeasured.step([seq], 2, postprocess)
    batch, _, postprocess = speculate(seq, truth, plain_step_s=1e9)
    assert not batch.step([seq, lone_sequence(prompt)], 2, postprocess)  # more than one row
    sampled = lone_sequence(prompt, temperature=0.7)
    spec, _, postprocess = speculate(sampled, truth, plain_step_s=1e9)
    assert not spec.step([sampled], 2, postprocess)
    nothing_repeats = lone_sequence([1, 2, 3])
    spec, _, postprocess = speculate(nothing_repeats, truth, plain_step_s=1e9)
    assert not spec.step([nothing_repeats], 3, postprocess)
    assert seq.output.token_ids == sampled.output.token_ids == nothing_repeats.output.token_ids == []


def test_draft_model_mode_needs_a_draft():
    speculator = Speculator(FakeRunner([]), num_draft_tokens=3)
    with pytest.raises(ValueError, match="LLMJOBS_DRAFT_MODEL"):
        speculator.set_mode("draft-model")
    assert speculator.mode == "off"


class FailingProposer:
    last_fed = 0

    def __init__(self):
        self.resets = 0

    def propose(self, tokens, num_draft):
        raise RuntimeError("injected draft failure")

    def reset(self):
        self.resets += 1


def test_a_failing_draft_model_gives_up_drafting_for_that_request():
    seq = lone_sequence([1, 2, 3, 4, 5, 1, 2])
    proposer = FailingProposer()
    speculator = Speculator(FakeRunner([3, 4, 5, 6]), num_draft_tokens=3, draft_model_proposer=proposer)
    speculator.set_mode("draft-model")
    speculator.record_plain_step(1e9)
    assert not speculator.step([seq], 2, lambda seqs, tokens: None)
    assert proposer.resets == 1 and seq.backoff.paused(seq.sampling.max_tokens)
