"""The batching scheduler with fake sequences and fake model outputs: no torch."""

import sys
from collections import deque

import pytest

from app.engine.output_processor import OutputProcessor
from app.engine.scheduler import Scheduler
from app.engine.sequence import Sequence, SequenceStatus
from app.engine.types import GenerationRequest, SamplingParams
from app.errors import InvalidRequestError
from tests.helpers.byte_tokenizer import byte_tokenizer


def seq(prompt_len=4, max_tokens=4, priority=5):
    request = GenerationRequest("r", list(range(prompt_len)), SamplingParams(max_tokens=max_tokens, temperature=0), priority=priority)
    return Sequence(request, OutputProcessor(byte_tokenizer(), max_tokens=max_tokens), None, deadline=1e18)


def run_step(scheduler):
    """Play the engine: every scheduled sequence gets one token."""
    plan = scheduler.schedule()
    for s in plan.decode:
        s.output.append(1)
        if s.output.finished:
            scheduler.finish(s)
    if plan.prefill:
        scheduler.prefill_advanced(plan.prefill)
        if plan.prefill.is_last:
            for s in plan.prefill.group:
                if not s.is_finished:
                    s.output.append(1)
                    if s.output.finished:
                        scheduler.finish(s)
    return plan


def test_scheduler_does_not_import_torch():
    assert "torch" not in sys.modules or "app.engine.scheduler" in sys.modules  # imported above without torch
    import app.engine.scheduler as module

    assert "torch" not in module.__dict__


def test_arrivals_prefill_as_a_group_then_decode_together():
    scheduler = Scheduler(max_num_seqs=8, max_num_batched_tokens=512, max_kv_tokens=1000)
    a, b = seq(), seq()
    scheduler.add(a)
    scheduler.add(b)
    plan = run_step(scheduler)
    assert plan.decode == [] and plan.prefill.group == [a, b] and plan.prefill.is_last
    assert a.status is SequenceStatus.RUNNING and scheduler.running == [a, b]
    c = seq()
    scheduler.add(c)
    plan = run_step(scheduler)
    assert plan.decode == [a, b] and plan.prefill.group == [c]  # c joins while a and b decode


def test_long_prompt_is_prefilled_in_chunks_while_others_decode():
    scheduler = Scheduler(max_num_seqs=8, max_num_batched_tokens=64, max_kv_tokens=10_000)
    short = seq(max_tokens=50)
    scheduler.add(short)
    run_step(scheduler)
    long = seq(prompt_len=200)
    scheduler.add(long)
    chunks = []
    while long.status is not SequenceStatus.RUNNING:
        plan = run_step(scheduler)
        assert plan.decode == [short]
        chunks.append((plan.prefill.start, plan.prefill.end))
    assert chunks[0] == (0, 63) and chunks[-1][1] == 200 and len(chunks) == 4
    assert all(end - start <= 63 for start, end in chunks)


def test_admission_respects_max_num_seqs_and_the_kv_budget():
    scheduler = Scheduler(max_num_seqs=2, max_num_batched_tokens=512, max_kv_tokens=1000)
    seqs = [seq() for _ in range(3)]
    for s in seqs:
        scheduler.add(s)
    run_step(scheduler)
    assert len(scheduler.running) == 2 and list(scheduler.waiting) == [seqs[2]]

    budget = Scheduler(max_num_seqs=8, max_num_batched_tokens=512, max_kv_tokens=20)
    big, small = seq(prompt_len=10, max_tokens=8), seq(prompt_len=4, max_tokens=4)
    budget.add(big)
    budget.add(small)
    run_step(budget)
    assert budget.running == [big] and list(budget.waiting) == [small]  # 18 + 8 > 20: small waits
    assert budget.num_reserved_tokens == 18
    while big in budget.running:
        run_step(budget)
    assert budget.num_reserved_tokens == 0
    run_step(budget)
    assert budget.running == [small]


def test_a_request_larger_than_the_budget_is_refused():
    scheduler = Scheduler(max_num_seqs=8, max_num_batched_tokens=512, max_kv_tokens=10)
    with pytest.raises(InvalidRequestError, match="KV tokens") as info:
        scheduler.check_fits(seq(prompt_len=8, max_tokens=8))
    assert info.value.field == "prompt"
    scheduler.check_fits(seq(prompt_len=6, max_tokens=4))  # exactly the budget fits


def test_finishing_frees_the_slot_at_once_and_everyone_finishes():
    scheduler = Scheduler(max_num_seqs=3, max_num_batched_tokens=512, max_kv_tokens=1000)
    seqs = [seq(max_tokens=n) for n in (2, 5, 3, 4, 1, 6)]
    for s in seqs:
        scheduler.add(s)
    for _ in range(100):
        if not scheduler.num_unfinished:
            break
        run_step(scheduler)
        assert len(scheduler.running) + len(scheduler.prefilling) <= 3
    assert all(s.is_finished for s in seqs) and scheduler.num_reserved_tokens == 0
    assert [len(s.output.token_ids) for s in seqs] == [2, 5, 3, 4, 1, 6]


def test_cancel_while_waiting_or_running():
    scheduler = Scheduler(max_num_seqs=1, max_num_batched_tokens=512, max_kv_tokens=1000)
    running, waiting = seq(max_tokens=10), seq()
    scheduler.add(running)
    scheduler.add(waiting)
    run_step(scheduler)
    scheduler.finish(waiting)
    scheduler.finish(running)
    assert scheduler.num_unfinished == 0 and scheduler.num_reserved_tokens == 0
    assert scheduler.schedule().is_empty


def test_a_group_reuses_the_shortest_cached_prefix_of_its_rows():
    lengths = {"0": 32, "1": 16}
    scheduler = Scheduler(
        max_num_seqs=8, max_num_batched_tokens=512, max_kv_tokens=1000, prefix_len=lambda s: lengths[s.request.request_id]
    )
    a, b = seq(prompt_len=40), seq(prompt_len=40)
    a.request = a.request.__class__("0", a.request.prompt_token_ids, a.request.sampling)
    b.request = b.request.__class__("1", b.request.prompt_token_ids, b.request.sampling)
    scheduler.add(a)
    scheduler.add(b)
    plan = scheduler.schedule()
    assert plan.prefill.prefix == 16 and plan.prefill.total == 24


def test_prefix_cache_finds_the_longest_block_prefix_and_evicts_lru():
    from app.engine.prefix_cache import PrefixCache

    class Fake:
        def __getitem__(self, item):
            return self

        def clone(self):
            return self

    cache = PrefixCache(block_size=4, max_tokens=16)
    first = list(range(10))
    cache.put(first, [(Fake(), Fake())])
    assert cache.longest(first + [99]) == 8  # 2 whole blocks stored of 10 tokens
    assert cache.longest(first[:8]) == 7  # at least one token must be left to compute
    assert cache.longest([0, 1, 2, 3, 4, 5, 99, 7, 8]) == 6  # a whole block, then token by token
    assert cache.longest([5, 6, 7, 8, 9]) == 0
    assert cache.get([0, 1, 2, 3, 4, 5, 99, 7, 8], 6) is not None
    with pytest.raises(KeyError):
        cache.get([0, 1, 2, 3, 4, 5, 99, 7, 8], 7)
    # A group asks each row for the group's shortest prefix: an entry matched at a longer
    # boundary serves it even when a newer entry indexed at a shorter boundary diverges earlier.
    two = PrefixCache(block_size=4, max_tokens=100)
    a = list(range(12))
    two.put(a, [(Fake(), Fake())])
    two.put([0, 1, 2, 3, 4, 5, 50, 51], [(Fake(), Fake())])  # newest at boundary 4, agrees to 6 only
    row = a[:10] + [77]
    assert two.longest(row) == 10
    assert two.get(row, 7) is not None
    cache.put(list(range(100, 112)), [(Fake(), Fake())])  # 12 more tokens: 20 > 16, the first goes
    assert cache.longest(first + [99]) == 0 and cache.num_tokens == 12


def test_preempted_sequences_requeue_first_with_their_output_as_input():
    scheduler = Scheduler(max_num_seqs=8, max_num_batched_tokens=64, max_kv_tokens=1000)
    a, b, c = seq(max_tokens=6), seq(max_tokens=6), seq(max_tokens=6)
    for s in (a, b):
        scheduler.add(s)
    run_step(scheduler)  # a and b prefilled together, one token each
    run_step(scheduler)  # and one more decoded
    scheduler.add(c)
    reserved = scheduler.num_reserved_tokens
    scheduler.preempt([a, b])
    assert list(scheduler.waiting) == [a, b, c] and scheduler.running == []
    assert scheduler.num_reserved_tokens == reserved - a.num_reserved_tokens - b.num_reserved_tokens == 0
    assert a.input_ids == list(range(4)) + a.output.token_ids and len(a.output.token_ids) == 2
    assert a.num_reserved_tokens == 4 + 6  # prompt + everything it may produce, as before
    while scheduler.num_unfinished:
        run_step(scheduler)
    assert all(len(s.output.token_ids) == 6 for s in (a, b, c))


def test_waiting_list_orders_by_priority_then_arrival():
    scheduler = Scheduler(max_num_seqs=1, max_num_batched_tokens=64, max_kv_tokens=1024)
    first, *later = [seq(priority=p) for p in (9, 9, 5, 0, 5, 0)]
    for s in (first, *later):
        scheduler.add(s)
    plan = scheduler.schedule()  # one slot: the first of the most urgent is admitted
    assert plan.prefill.group == [later[2]]
    assert scheduler.waiting == deque([later[4], later[1], later[3], first, later[0]])


def test_background_rows_yield_to_an_urgent_arrival_and_come_back_after():
    now = [0.0]
    scheduler = Scheduler(max_num_seqs=8, max_num_batched_tokens=64, max_kv_tokens=1000, max_num_background=1, clock=lambda: now[0])
    batch = [seq(max_tokens=8, priority=9) for _ in range(4)]
    for s in batch:
        scheduler.add(s)
    run_step(scheduler)
    run_step(scheduler)
    assert scheduler.background_victims() == []  # nothing urgent: the batch keeps every row
    urgent = seq(max_tokens=3, priority=5)
    scheduler.add(urgent)
    victims = scheduler.background_victims()
    assert victims == batch[1:]  # all but one background row leave, the newest first
    scheduler.preempt_background(victims)
    assert scheduler.running == batch[:1] and list(scheduler.waiting) == [urgent, *batch[1:]]
    assert all(s.input_ids == list(range(4)) + s.output.token_ids for s in victims)
    plan = scheduler.schedule()
    assert plan.prefill.group == [urgent]  # admitted alone: the background rows wait while it runs
    while not urgent.is_finished:
        run_step(scheduler)
        assert scheduler.background_victims() == []
    run_step(scheduler)
    assert len(scheduler.running) == 1  # within the grace period the others still wait
    now[0] += 2.5
    while scheduler.num_unfinished:
        run_step(scheduler)
    assert all(len(s.output.token_ids) == 8 for s in batch)  # the preempted rows finished their answers
