"""SharedPrefill: twins of a prompt wait for its leader's prefill (pure logic, fake sequences)."""

from types import SimpleNamespace

from app.engine.sequence import SequenceStatus
from app.engine.shared_prefill import SharedPrefill


def seq(prompt):
    return SimpleNamespace(input_ids=list(prompt), status=SequenceStatus.WAITING, lora_key=None)


def test_twins_wait_until_their_leader_is_prefilled():
    sharing = SharedPrefill()
    leader, twin, other = seq([1, 2, 3]), seq([1, 2, 3]), seq([4, 5])
    assert sharing.admit([leader, twin, other], enabled=True) == [leader, other]
    leader.status = SequenceStatus.PREFILLING
    assert sharing.admit([], enabled=True) == [] and sharing.held == [twin]
    leader.status = SequenceStatus.RUNNING
    assert sharing.admit([], enabled=True) == [twin] and sharing.num_shared == 1


def test_a_leader_that_ends_before_its_prefill_releases_its_twins():
    sharing = SharedPrefill()
    leader, twin = seq([7]), seq([7])
    sharing.admit([leader, twin], enabled=True)
    leader.status = SequenceStatus.FINISHED
    assert sharing.admit([], enabled=True) == [twin]


def test_without_the_prefix_cache_nothing_is_held():
    sharing = SharedPrefill()
    a, b = seq([1, 2]), seq([1, 2])
    assert sharing.admit([a, b], enabled=False) == [a, b]
    held = SharedPrefill()
    held.admit([seq([3]), seq([3])], enabled=True)
    assert len(held.admit([], enabled=False)) == 1 and not held.held


def test_the_same_prompt_under_two_adapters_is_two_prefills():
    shared = SharedPrefill()
    base, adapted = seq([1, 2, 3]), seq([1, 2, 3])
    adapted.lora_key = "digest"
    assert shared.admit([base, adapted], enabled=True) == [base, adapted]
