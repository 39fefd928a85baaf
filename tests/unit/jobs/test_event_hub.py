"""follow(): replay the log, then live events, with gaps, lost events and quiet spells recovered
from the log, so every event comes once, in order, ending at the final one. A fake hub (its
subscription plays a script of pub/sub deliveries) and a fake log: no Redis."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import pytest

from app.jobs.event_hub import EventHub, Subscription, follow
from app.redis_conn import Keys

JOB = "job-1"
EMPTY = object()  # a script step: nothing arrives within the tick


def event(index: int, final: bool = False) -> dict[str, Any]:
    return {"index": index, "type": "final" if final else "token", "text": str(index)}


def job_events(count: int) -> list[dict[str, Any]]:
    """Events 0..count-1, the last one final."""
    return [event(i, final=i == count - 1) for i in range(count)]


class FakeLog:
    """The job's event log; ``visible`` is how many of its events the worker has written so far."""

    def __init__(self, events: list[dict[str, Any]], visible: int) -> None:
        self.events = events
        self.visible = visible
        self.reads: list[int] = []

    def read(self, job_id: str, after: int = -1) -> list[dict[str, Any]]:
        assert job_id == JOB
        self.reads.append(after)
        return [e for e in self.events[: self.visible] if e["index"] > after]


class ScriptedQueue:
    """Stands in for a subscription's queue: each get() plays the next step of the script (an
    event, EMPTY, or a callable run then, returning one of those); an exhausted script is a failure."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps  # shared with the test, which may add to it

    def get(self, timeout: float | None = None) -> dict[str, Any]:
        assert self.steps, "follow() asked for more than pub/sub delivered: it should have ended"
        step = self.steps.pop(0)
        if callable(step):
            step = step()
        if step is EMPTY:
            raise queue.Empty
        return step


class FakeHub:
    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.subscriptions: list[Subscription] = []
        self.unsubscribed: list[Subscription] = []

    def subscribe(self, job_id: str) -> Subscription:
        sub = Subscription(job_id, max_queued=16)
        sub.events = ScriptedQueue(self.steps)
        sub.ready.set()  # Redis confirmed the subscription
        self.subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.unsubscribed.append(sub)


def run(hub: FakeHub, log: FakeLog, **kwargs: Any) -> list[dict[str, Any] | None]:
    return list(follow(hub, log, JOB, tick_s=0.01, **kwargs))


def indices(got: list[dict[str, Any] | None]) -> list[int | None]:
    return [None if e is None else e["index"] for e in got]


def then(action: Callable[[], None], step: Any) -> Callable[[], Any]:
    """A script step that first changes the world (the log grows, the queue overflows)."""

    def play() -> Any:
        action()
        return step

    return play


def test_an_ended_job_is_replayed_without_subscribing():
    events = job_events(4)
    hub = FakeHub([])
    assert run(hub, FakeLog(events, visible=4)) == events
    assert hub.subscriptions == []


def test_live_events_follow_the_logged_ones_without_repeats():
    events = job_events(5)
    log = FakeLog(events, visible=2)  # 0 and 1 were written before the client came
    hub = FakeHub([events[1], events[2], events[3], events[4]])  # 1 also arrives live: a duplicate
    got = run(hub, log)
    assert got == events
    assert hub.unsubscribed == hub.subscriptions and len(hub.subscriptions) == 1


def test_a_gap_in_the_live_indices_is_filled_from_the_log():
    events = job_events(6)
    log = FakeLog(events, visible=1)

    def worker_wrote_everything() -> None:
        log.visible = 6

    # Pub/sub delivers 1 and 2, drops 3, then delivers 4 and 5 (final).
    hub = FakeHub([events[1], then(worker_wrote_everything, events[2]), events[4], events[5]])
    got = run(hub, log)
    assert indices(got) == [0, 1, 2, 3, 4, 5]
    assert got[-1]["type"] == "final"
    assert log.reads[-1] == 2  # the gap sent it back to the log after the last event it had


def test_lost_events_send_the_reader_back_to_the_log():
    events = job_events(5)
    log = FakeLog(events, visible=1)
    hub = FakeHub([])

    def queue_overflowed() -> None:
        hub.subscriptions[0].lost_events = True  # what Subscription.deliver does on a full queue
        log.visible = 5

    # 2 is queued, then the queue is full and 3 and 4 are dropped: nothing but the flag tells.
    hub.steps.extend([events[1], then(queue_overflowed, events[2])])
    got = run(hub, log)
    assert indices(got) == [0, 1, 2, 3, 4]
    assert not hub.subscriptions[0].lost_events  # reset once caught up


def test_a_quiet_spell_checks_the_log_and_yields_a_keep_alive():
    events = job_events(3)
    log = FakeLog(events, visible=1)

    def worker_wrote_everything() -> None:
        log.visible = 3

    # Nothing arrives (nothing new in the log either: a keep-alive), then nothing arrives
    # again but the log has the rest (its pub/sub messages were lost).
    hub = FakeHub([EMPTY, then(worker_wrote_everything, EMPTY)])
    got = run(hub, log)
    assert indices(got) == [0, None, 1, 2]


def test_a_late_live_event_after_the_log_caught_up_is_not_sent_again():
    events = job_events(4)
    log = FakeLog(events, visible=1)

    def worker_wrote_two_more() -> None:
        log.visible = 3

    hub = FakeHub([then(worker_wrote_two_more, EMPTY), events[1], events[2], events[3]])
    assert indices(run(hub, log)) == [0, 1, 2, 3]


def test_resuming_after_an_index_gets_exactly_the_rest():
    events = job_events(6)
    log = FakeLog(events, visible=3)
    hub = FakeHub([events[2], events[3], events[4], events[5]])
    assert indices(run(hub, log, after=1)) == [2, 3, 4, 5]
    assert indices(run(FakeHub([]), FakeLog(events, visible=6), after=3)) == [4, 5]


def test_it_ends_at_the_final_event_even_if_more_arrives():
    events = job_events(3)
    hub = FakeHub([events[1], events[2], event(3)])
    got = run(hub, FakeLog(events, visible=1))
    assert indices(got) == [0, 1, 2]
    assert len(hub.steps) == 1  # the stray event after the final one was never read


def test_without_replay_of_ended_jobs_it_still_ends_at_the_final_event():
    events = job_events(3)
    hub = FakeHub([])
    assert run(hub, FakeLog(events, visible=3), replay_ended=False) == events
    assert len(hub.subscriptions) == 1 and hub.unsubscribed == hub.subscriptions


def test_a_client_that_goes_away_unsubscribes():
    events = job_events(5)
    hub = FakeHub([events[1], events[2]])
    stream = follow(hub, FakeLog(events, visible=1), JOB, tick_s=0.01)
    assert next(stream)["index"] == 0
    assert next(stream)["index"] == 1
    stream.close()
    assert hub.unsubscribed == hub.subscriptions


@pytest.mark.parametrize("seed", range(5))
def test_any_mix_of_drops_duplicates_and_silence_gives_every_event_once(seed):
    import random

    rng = random.Random(seed)
    events = job_events(30)
    log = FakeLog(events, visible=0)
    steps: list[Any] = []
    for e in events:

        def written(i=e["index"]) -> None:
            log.visible = max(log.visible, i + 1)

        roll = rng.random()
        if roll < 0.2:
            steps.append(then(written, EMPTY))  # dropped by pub/sub, silence
        elif roll < 0.35:
            steps.append(then(written, e))
            steps.append(e)  # delivered twice
        else:
            steps.append(then(written, e))
    steps.extend([EMPTY] * 3)  # quiet at the end: the log has everything
    got = [e for e in run(FakeHub(steps), log) if e is not None]
    assert got == events


class ReconnectingPubSub:
    """What the hub's listener reads when redis-py reconnected its PubSub by itself (after a blip or a
    Sentinel failover): the channel's subscription confirmed a second time, then silence."""

    subscribed = True

    def __init__(self, hub: EventHub, channel: str, seen: list[bool]) -> None:
        self.hub, self.seen = hub, seen
        self.messages = [{"type": "subscribe", "channel": channel, "data": 1}] * 2

    def get_message(self, timeout: float) -> dict[str, Any] | None:
        self.seen.append(self.hub._subs[self.hub.keys.events(JOB)].copy().pop().lost_events)
        if not self.messages:
            self.hub._stop.set()
            return None
        return self.messages.pop(0)


def test_a_resubscription_after_a_reconnect_sends_readers_back_to_the_log():
    hub = EventHub(None, Keys("t"))  # type: ignore[arg-type]  # the listener only talks to the PubSub given
    sub = Subscription(JOB, max_queued=4)
    hub._subs[hub.keys.events(JOB)] = {sub}
    seen: list[bool] = []
    hub._pump(ReconnectingPubSub(hub, hub.keys.events(JOB), seen))  # type: ignore[arg-type]
    assert sub.ready.is_set()
    assert seen == [False, False, True]  # the first confirmation is the subscription; the second, a reconnect
