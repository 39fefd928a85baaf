"""Live job events for many clients over one Redis pub/sub connection per process.

Every streaming client of an API process shares one pub/sub connection: a
listener thread subscribes to a job's channel while at least one client follows
that job and hands each message to the clients' bounded queues. An idle client
therefore holds no Redis connection at all. redis-py's PubSub is not
thread-safe, so only the listener thread touches it; other threads post
(un)subscribe requests to it.

:func:`follow` turns a subscription plus the job's event log into an ordered,
gap-free, duplicate-free iterator: it replays the log first, then takes live
events, and re-reads the log whenever pub/sub may have dropped something (a gap
in the indices, a full queue, a reconnect, or a quiet spell).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import redis

from app.jobs.events import FINAL, EventLog, parse_message
from app.redis_conn import Keys

log = logging.getLogger(__name__)


class Subscription:
    def __init__(self, job_id: str, max_queued: int) -> None:
        self.job_id = job_id
        self.events: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queued)
        self.ready = threading.Event()  # set once Redis confirmed the channel subscription
        self.lost_events = False  # the queue overflowed or the connection dropped: re-read the log

    def deliver(self, event: dict[str, Any]) -> None:
        try:
            self.events.put_nowait(event)
        except queue.Full:
            self.lost_events = True  # a slow reader: drop, it catches up from the log


class EventHub:
    def __init__(self, client: redis.Redis, keys: Keys, max_queued: int = 1024) -> None:
        self.redis = client
        self.keys = keys
        self.max_queued = max_queued
        self._subs: dict[str, set[Subscription]] = {}  # channel -> subscriptions
        self._confirmed: set[str] = set()
        self._requests: queue.Queue[tuple[str, str]] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, job_id: str) -> Subscription:
        sub = Subscription(job_id, self.max_queued)
        channel = self.keys.events(job_id)
        with self._lock:
            subs = self._subs.setdefault(channel, set())
            subs.add(sub)
            if channel in self._confirmed:
                sub.ready.set()
            elif len(subs) == 1:
                self._requests.put(("subscribe", channel))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="llmjobs-event-hub", daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        channel = self.keys.events(sub.job_id)
        with self._lock:
            subs = self._subs.get(channel, set())
            subs.discard(sub)
            if not subs:
                self._subs.pop(channel, None)
                self._confirmed.discard(channel)
                self._requests.put(("unsubscribe", channel))

    def stop(self) -> None:
        """End the listener thread (it starts again with the next subscription)."""
        self._stop.set()
        self._requests.put(("stop", ""))  # wake it if it sleeps waiting for a subscription
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)
        self._stop.clear()

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self.redis.pubsub()
            try:
                with self._lock:
                    channels = list(self._subs)
                    self._confirmed.clear()
                if channels:
                    pubsub.subscribe(*channels)
                self._pump(pubsub)
            except (redis.RedisError, OSError) as exc:
                log.warning("event hub lost Redis (%s); reconnecting", exc)
                with self._lock:
                    for subs in self._subs.values():
                        for sub in subs:
                            sub.lost_events = True
                self._stop.wait(0.5)
            finally:
                pubsub.close()

    def _pump(self, pubsub: redis.client.PubSub) -> None:
        while not self._stop.is_set():
            while True:  # apply (un)subscribe requests from client threads
                try:
                    action, channel = self._requests.get_nowait()
                except queue.Empty:
                    break
                with self._lock:
                    wanted = channel in self._subs
                if action == "subscribe" and wanted:
                    pubsub.subscribe(channel)
                elif action == "unsubscribe" and not wanted:
                    pubsub.unsubscribe(channel)
            if not pubsub.subscribed:
                try:
                    self._requests.put(self._requests.get(timeout=1.0))  # sleep until someone subscribes
                except queue.Empty:
                    pass
                continue
            message = pubsub.get_message(timeout=0.05)
            if message is None:
                continue
            channel = message["channel"]
            if message["type"] == "subscribe":
                with self._lock:
                    # Confirmed again: redis-py reconnected this PubSub by itself (a blip, or a Sentinel failover to
                    # the new master) and subscribed anew; whatever was published meanwhile never reached us.
                    again = channel in self._confirmed
                    self._confirmed.add(channel)
                    for sub in self._subs.get(channel, ()):
                        sub.lost_events = sub.lost_events or again
                        sub.ready.set()
            elif message["type"] == "message":
                event = parse_message(message["data"])
                with self._lock:
                    subs = list(self._subs.get(channel, ()))
                for sub in subs:
                    sub.deliver(event)


def follow(
    hub: EventHub, events: EventLog, job_id: str, *, after: int = -1, tick_s: float = 2.0, replay_ended: bool = True
) -> Iterator[dict[str, Any] | None]:
    """Yield the job's events after index ``after`` in order, ending with its final event.

    Yields None every ``tick_s`` of silence, so callers can send keep-alives and
    notice a client that went away. ``replay_ended``: an ended job's log is sent at once,
    without first subscribing (a cache hit answers in ~1 ms instead of a subscription's round trip).
    """
    if replay_ended:
        logged = events.read(job_id, after=after)
        if logged and logged[-1]["type"] == FINAL:
            yield from logged
            return
    sub = hub.subscribe(job_id)
    last = after
    try:
        sub.ready.wait(timeout=1.0)

        def from_log() -> Iterator[dict[str, Any]]:
            nonlocal last
            for event in events.read(job_id, after=last):
                last = event["index"]
                yield event

        for event in from_log():
            yield event
            if event["type"] == FINAL:
                return
        while True:
            try:
                event = sub.events.get(timeout=tick_s)
            except queue.Empty:
                event = None
            if event is not None and event["index"] <= last:
                continue  # already sent from the log
            if event is None or sub.lost_events or event["index"] > last + 1:
                sub.lost_events = False
                caught_up = False
                for logged in from_log():
                    caught_up = True
                    yield logged
                    if logged["type"] == FINAL:
                        return
                if event is None and not caught_up:
                    yield None
                continue
            last = event["index"]
            yield event
            if event["type"] == FINAL:
                return
    finally:
        hub.unsubscribe(sub)
