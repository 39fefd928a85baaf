"""Job events: the vocabulary shared by worker and API, and their log in Redis.

A job's events are kept in a Redis Stream (an ordered log) and published on a
pub/sub channel of the same name for live fan-out. The stream serves live
streaming and resume only: it expires ``LLMJOBS_EVENTS_TTL`` seconds after the
final event (scripts.finalize), long before the job's record; a reader who comes
later gets the final event alone, built from the record (:meth:`EventLog.read`). The
stream entry ID of event ``n`` is ``0-(n+1)``, so an event's index *is* its
position: a reader resuming after event ``n`` reads exactly the events after it,
and a worker can never write the same index twice. Stored payloads carry no
index; readers add it from the ID (pub/sub messages are ``"<index> <json>"``).

Events, in order: ``token`` events (``text`` may be empty while a stop string or
a multi-byte character is undecided; the last one may carry text but no token),
then exactly one ``final`` event.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from app.redis_conn import Keys

TOKEN = "token"
FINAL = "final"


def token_event(text: str, token_ids: list[int], logprobs: list | None = None, prompt_logprobs: list | None = None) -> dict[str, Any]:
    """``logprobs`` (one ``[token_id, logprob, [[id, logprob], ...]]`` per token id) and ``prompt_logprobs``
    (the same per prompt token, the first null) appear only when the request asked for them."""
    event = {"type": TOKEN, "text": text, "token_ids": token_ids, "ts": round(time.time(), 6)}
    if logprobs is not None:
        event["logprobs"] = logprobs
    if prompt_logprobs is not None:
        event["prompt_logprobs"] = prompt_logprobs
    return event


def final_event(
    *, status: str, finish_reason: str | None, output: str | None, usage: dict | None, timings: dict | None, error: dict | None
) -> dict[str, Any]:
    return {
        "type": FINAL,
        "status": status,
        "finish_reason": finish_reason,
        "output": output,
        "usage": usage,
        "timings": timings,
        "error": error,
        "ts": round(time.time(), 6),
    }


def final_from_record(status: str, record: dict[str, str]) -> dict[str, Any]:
    """The final event of an ended job, from its settled record (app/jobs/record.py)."""

    def parsed(name: str) -> Any:
        return json.loads(record[name]) if record.get(name) else None

    event = final_event(
        status=status, finish_reason=record.get("finish_reason"), output=record.get("output"), usage=parsed("usage"),
        timings=parsed("timings"), error=parsed("error"),
    )  # fmt: skip
    event["ts"] = float(record.get("finished_at") or event["ts"])
    return event


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def stream_id(index: int) -> str:
    return f"0-{index + 1}"


def index_of(entry_id: str) -> int:
    return int(entry_id.rsplit("-", 1)[1]) - 1


class Event(dict):
    """An event as a plain dict that also keeps its JSON text (index included), so a
    process fanning one event out to hundreds of clients encodes it once, not per client."""

    __slots__ = ("json",)


def decode(index: int, body: str) -> Event:
    """A stored payload (JSON without the index) -> the event with its index."""
    event = Event(index=index, **json.loads(body))
    event.json = f'{{"index":{index},{body[1:]}' if body != "{}" else f'{{"index":{index}}}'
    return event


def parse_message(payload: str) -> Event:
    """A pub/sub payload ``"<index> <json>"`` -> the event with its index."""
    index, _, body = payload.partition(" ")
    return decode(int(index), body)


class EventLog:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        self.redis = client
        self.keys = keys
        self.ttl_s = ttl_s

    def publish(self, job_id: str, index: int, event: dict[str, Any]) -> None:
        """Append event ``index`` to the log and publish it, in one round trip."""
        self.publish_many([(job_id, index, event)])

    def publish_many(self, events: list[tuple[str, int, dict[str, Any]]]) -> None:
        """Append and publish many events (of any jobs) in one round trip.

        An index already in the log (a retried batch that partly landed) is skipped:
        XADD refuses an ID not above the stream's last, and that refusal is the point.
        """
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id, index, event in events:
                key = self.keys.events(job_id)
                body = encode(event)
                pipe.xadd(key, {"data": body}, id=stream_id(index))
                pipe.publish(key, f"{index} {body}")
                if index == 0:  # bounds a stream whose job never ends; the final event sets the short TTL
                    # (not on every event: a late retry after the final one would lengthen it again)
                    pipe.expire(key, self.ttl_s)
            results = pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, redis.ResponseError) and "equal or smaller" not in str(result):
                raise result

    def read(self, job_id: str, after: int = -1, count: int | None = None) -> list[Event]:
        """Events with index > ``after``, in order. Once the stream has expired, an ended job's
        final event alone, from its record, numbered right after ``after``."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.xrange(self.keys.events(job_id), min=stream_id(after + 1), max="+", count=count)
            pipe.exists(self.keys.events(job_id))
            entries, exists = pipe.execute()
        if entries or exists:
            return [decode(index_of(entry_id), fields["data"]) for entry_id, fields in entries]
        status, record = self.redis.hmget(self.keys.job(job_id), "status", "record")
        if record is None:  # not ended (no stream yet: queued), or unknown
            return []
        return [decode(after + 1, encode(final_from_record(status, json.loads(record))))]
