"""The batch runner: one round per tick over every active batch, each under its lock.

- ``validating``: check every input line (app/batches/lines.py); ``failed`` with the line numbers, or
  ``in_progress``.
- ``in_progress``: collect the lines whose jobs have ended into a part file (written, then committed in
  one Lua step that takes the lines out of the window), then feed new lines as jobs at the lowest
  priority, as many as :class:`Pace` allows. Past ``expires_at``: stop the lines in flight and finalize
  as ``expired``.
- ``cancelling``: stop the lines in flight, collect them, finalize as ``cancelled``.
- ``finalizing``: concatenate the parts into the output and error files (lines never fed written as
  ``batch_expired`` / ``batch_cancelled``), register them under ids derived from the batch's, and end.

Every step can be cut short by a crash and done again by any process: a line's jobs have ids derived
from the batch and line, a part is committed only with the lines it holds, and the output files have
fixed ids, so each line ends exactly once in the output or error file.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import redis

from app.batches.executor import LineExecutor, Refused, Reply
from app.batches.files import MAX_FILE_LINES, FileRegistry, StoredFile
from app.batches.lines import check_lines, not_run_line, output_line
from app.batches.pace import Pace
from app.batches.record import BatchStatus, LineIds, request_id
from app.batches.store import BatchStore, Lock

log = logging.getLogger(__name__)

EMBEDDING_LINES_PER_ROUND = 16  # a round's share of the API process's time, four rounds a second
# (slots of live workers, queued + running jobs) of a model
Load = Callable[[str], tuple[int, int]]


class BatchRunner:
    def __init__(self, store: BatchStore, files: FileRegistry, executor: LineExecutor, load: Load, pace: Pace,
                 output_expires_s: int, metrics: Any = None) -> None:  # fmt: skip
        self.store = store
        self.files = files
        self.executor = executor
        self.load = load
        self.pace = pace
        self.output_expires_s = output_expires_s
        self.metrics = metrics  # lines by outcome (api_metrics), or None

    def run_once(self) -> None:
        """One round over every active batch (a sweeper chore)."""
        active = self.store.active()
        if not active:
            return
        in_flight: dict[str, int] = {}
        records = {}
        for batch_id in active:
            fields = self.store.fields(batch_id)
            if fields:
                records[batch_id] = fields
                model = fields.get("model") or ""
                in_flight[model] = in_flight.get(model, 0) + self.store.redis.hlen(self.store.window_key(batch_id))
        for batch_id, fields in records.items():
            lock = self.store.lock(batch_id)
            if lock is None:
                continue  # another process works on it this round
            try:
                self.step(lock, fields, in_flight)
            except (redis.RedisError, OSError) as exc:
                log.warning("batch %s: %s; trying again next round", batch_id, exc)
            except Exception:  # a bug met by one batch must not stop the others (nor the runner's thread): logged, retried
                log.exception("batch %s: unexpected error; trying again next round", batch_id)
            finally:
                try:
                    self.store.release(lock)
                except redis.RedisError:
                    pass  # the lock expires by itself

    def step(self, lock: Lock, fields: dict[str, str], in_flight: dict[str, int]) -> None:
        status = fields["status"]
        if status == BatchStatus.VALIDATING:
            self.validate(lock, fields)
        elif status == BatchStatus.IN_PROGRESS:
            self.collect(lock, fields)
            if time.time() >= float(fields["expires_at"]):
                self.stop_window(lock.batch_id)
                self.store.move(lock.batch_id, lock, (BatchStatus.IN_PROGRESS,), BatchStatus.FINALIZING, ending=BatchStatus.EXPIRED.value)
                return
            fields = self.store.fields(lock.batch_id)
            model = fields.get("model") or ""
            if fields["endpoint"] == "/v1/embeddings":  # answered in the API process itself, no worker slot taken
                room = EMBEDDING_LINES_PER_ROUND
            else:
                slots, active = self.load(model)
                room = self.pace.room(slots=slots, active_jobs=active, batch_jobs=in_flight.get(model, 0))
            fed = self.feed(lock, fields, room) if room > 0 else 0
            in_flight[model] = in_flight.get(model, 0) + fed
            fields = self.store.fields(lock.batch_id)
            done_feeding = int(fields["next_offset"]) >= int(fields["input_bytes"])
            if done_feeding and not self.store.redis.hlen(self.store.window_key(lock.batch_id)):
                self.store.move(lock.batch_id, lock, (BatchStatus.IN_PROGRESS,), BatchStatus.FINALIZING, ending=BatchStatus.COMPLETED.value)
        elif status == BatchStatus.CANCELLING:
            if not fields.get("input_bytes"):  # cancelled while validating: nothing ran
                self.store.move(lock.batch_id, lock, (BatchStatus.CANCELLING,), BatchStatus.CANCELLED)
                return
            self.stop_window(lock.batch_id)
            self.collect(lock, fields)
            if not self.store.redis.hlen(self.store.window_key(lock.batch_id)):
                self.finalize(lock, self.store.fields(lock.batch_id), BatchStatus.CANCELLED)
        elif status == BatchStatus.FINALIZING:
            if fields.get("ending") == BatchStatus.EXPIRED:
                self.stop_window(lock.batch_id)
            self.collect(lock, fields)
            if not self.store.redis.hlen(self.store.window_key(lock.batch_id)):
                self.finalize(lock, self.store.fields(lock.batch_id), BatchStatus(fields.get("ending") or BatchStatus.COMPLETED))

    # --- validating ---
    def validate(self, lock: Lock, fields: dict[str, str]) -> None:
        endpoint = fields["endpoint"]
        with self.files.store.open(fields["input_file_id"]) as source:
            known = lambda m: self.executor.model_error(endpoint, m, fields["tenant"])  # noqa: E731
            checked = check_lines(_renewing(source, self.store, lock), endpoint, known, MAX_FILE_LINES)
        if checked.errors:
            self.store.move(lock.batch_id, lock, (BatchStatus.VALIDATING,), BatchStatus.FAILED, errors=json.dumps(checked.errors))
            return
        size = self.files.store.fs.size(self.files.store.path(fields["input_file_id"]))
        self.store.move(lock.batch_id, lock, (BatchStatus.VALIDATING,), BatchStatus.IN_PROGRESS, total=checked.total,
                        model=checked.model or "", next_line=0, next_offset=0, input_bytes=size)  # fmt: skip

    # --- in progress ---
    def feed(self, lock: Lock, fields: dict[str, str], room: int) -> int:
        """Submit up to ``room`` new lines; record them in the window with the cursor past them. Returns how many."""
        batch_id, endpoint, tenant = lock.batch_id, fields["endpoint"], fields["tenant"]
        read_line, offset = int(fields["next_line"]), int(fields["next_offset"])
        line, entries = read_line, {}
        with self.files.store.open(fields["input_file_id"]) as source:
            source.seek(offset)
            while len(entries) < room:
                raw = source.readline()
                if not raw:
                    break
                start = offset
                if raw.strip():
                    item = json.loads(raw)
                    number = line + 1
                    try:
                        started = self.executor.start(endpoint, item["body"], tenant, LineIds(batch_id, number))
                    except Refused as exc:
                        log.debug("batch %s: line %d waits: %s", batch_id, number, exc)
                        break
                    entry: dict[str, Any] = {"custom_id": item["custom_id"], "offset": start, "length": len(raw)}
                    if isinstance(started, Reply):
                        entry["result"] = started.to_json()
                    else:
                        entry["jobs"] = started
                    entries[number] = entry
                line += 1
                offset += len(raw)
        if line != read_line and not self.store.feed(lock, read_line, line, offset, entries):
            log.warning("batch %s: lost its lock while feeding; the next round finds the submitted jobs", batch_id)
            return 0
        return len(entries)

    def collect(self, lock: Lock, fields: dict[str, str]) -> int:
        """Write the ended lines of the window as one part; returns how many."""
        window = self.store.window(lock.batch_id)
        if not window:
            return 0
        endpoint, batch_id = fields["endpoint"], lock.batch_id
        out, err, done = [], [], []
        counts = {"completed": 0, "failed": 0, "prompt_tokens": 0, "completion_tokens": 0}
        with self.files.store.open(fields["input_file_id"]) as source:
            for number, entry in sorted(window.items()):
                if "result" in entry:
                    reply: Reply | None | str = Reply.from_json(entry["result"])
                else:
                    body = functools.partial(_line_body, source, entry)  # read only once its jobs have ended
                    reply = self.executor.reply(endpoint, body, entry["jobs"])
                    if reply == "missing":  # its record is gone (Redis lost it): submit it again under the same ids
                        if fields["status"] == BatchStatus.IN_PROGRESS:
                            try:
                                self.executor.start(endpoint, body(), fields["tenant"], LineIds(batch_id, number))
                            except Refused:
                                pass
                            continue
                        reply = None
                        done.append(number)
                        err.append(not_run_line(request_id(batch_id, number), entry["custom_id"], _not_run_code(fields)))
                        counts["failed"] += 1
                        continue
                if reply is None or isinstance(reply, str):
                    continue
                done.append(number)
                if reply.status_code == 499:  # stopped by the batch's cancel or expiry before it ended
                    err.append(not_run_line(request_id(batch_id, number), entry["custom_id"], _not_run_code(fields)))
                    counts["failed"] += 1
                    continue
                line = output_line(request_id(batch_id, number), entry["custom_id"], reply.status_code, reply.request_id, reply.body)
                (out if reply.status_code == 200 else err).append(line)
                counts["completed" if reply.status_code == 200 else "failed"] += 1
                counts["prompt_tokens"] += reply.prompt_tokens
                counts["completion_tokens"] += reply.completion_tokens
        if not done:
            return 0
        parts = self.store.parts(batch_id)
        part = f"batches/{batch_id}/part-{len(parts):06d}-{uuid.uuid4().hex[:8]}"
        self.files.store.write(part + ".out.jsonl", [b"".join(out)])
        self.files.store.write(part + ".err.jsonl", [b"".join(err)])
        if not self.store.commit(lock, len(parts), part, done, counts):
            self.files.store.delete(part + ".out.jsonl")
            self.files.store.delete(part + ".err.jsonl")
            return 0
        if self.metrics is not None:
            self.metrics.batch_lines(completed=counts["completed"], failed=counts["failed"])
        return len(done)

    def stop_window(self, batch_id: str) -> None:
        for entry in self.store.window(batch_id).values():
            if "jobs" in entry:
                self.executor.cancel(entry["jobs"])

    # --- finalizing ---
    def finalize(self, lock: Lock, fields: dict[str, str], ending: BatchStatus) -> None:
        batch_id, parts = lock.batch_id, self.store.parts(lock.batch_id)
        # every line ended in a part but those never fed
        not_run = int(fields.get("total") or 0) - int(fields.get("completed") or 0) - int(fields.get("failed") or 0)

        def errors() -> Iterator[bytes]:
            for part in parts:
                yield from self.files.store.read_chunks(part + ".err.jsonl")
            if ending != BatchStatus.COMPLETED:  # the lines never fed
                code = "batch_expired" if ending == BatchStatus.EXPIRED else "batch_cancelled"
                with self.files.store.open(fields["input_file_id"]) as source:
                    source.seek(int(fields["next_offset"]))
                    number = int(fields["next_line"])
                    for raw in source:
                        number += 1
                        if raw.strip():
                            yield not_run_line(request_id(batch_id, number), json.loads(raw)["custom_id"], code)

        outputs = (chunk for part in parts for chunk in self.files.store.read_chunks(part + ".out.jsonl"))
        expires_s = int(fields.get("output_expires_s") or self.output_expires_s)
        output_id = self._write_output(batch_id, "output", fields["tenant"], outputs, expires_s)
        error_id = self._write_output(batch_id, "errors", fields["tenant"], errors(), expires_s)
        allowed = (BatchStatus.FINALIZING, BatchStatus.CANCELLING)
        extra = {"failed": int(fields.get("failed") or 0) + not_run} if not_run > 0 else {}
        if self.store.move(batch_id, lock, allowed, ending, output_file_id=output_id or "", error_file_id=error_id or "", **extra):
            self.files.store.delete(f"batches/{batch_id}")
            if self.metrics is not None:
                self.metrics.batch_lines(failed=max(not_run, 0))
                self.metrics.batch_ended(ending.value)

    def _write_output(self, batch_id: str, kind: str, tenant: str, chunks: Iterator[bytes], expires_s: int) -> str | None:
        """An output file of the batch, under an id fixed by the batch (so finalizing twice makes one file); None if empty."""
        file_id = "file-" + uuid.uuid5(uuid.NAMESPACE_URL, f"llmjobs:{batch_id}/{kind}").hex
        existing = self.files.get(file_id)
        if existing is not None:
            return file_id
        lines = 0

        def counted() -> Iterator[bytes]:
            nonlocal lines
            for chunk in chunks:
                lines += chunk.count(b"\n")
                yield chunk

        size = self.files.store.write(file_id, counted())
        if size == 0:
            self.files.store.delete(file_id)
            return None
        now = int(time.time())
        stored = StoredFile(id=file_id, tenant=tenant, bytes=size, created_at=now, expires_at=now + expires_s,
                            filename=f"{batch_id}_{kind}.jsonl", purpose="batch_output", lines=lines)  # fmt: skip
        self.files.register(stored, quota=False)
        return file_id


def _line_body(source: Any, entry: dict[str, Any]) -> dict[str, Any]:
    source.seek(entry["offset"])
    return json.loads(source.read(entry["length"]))["body"]


def _not_run_code(fields: dict[str, str]) -> str:
    ending = fields.get("ending") or (BatchStatus.CANCELLED if fields["status"] == BatchStatus.CANCELLING else "")
    return "batch_expired" if ending == BatchStatus.EXPIRED else "batch_cancelled"


def _renewing(source: Any, store: BatchStore, lock: Lock, every: int = 2000) -> Iterator[bytes]:
    """The file's lines, renewing the batch's lock now and then (a 50,000-line check takes a while)."""
    for number, raw in enumerate(source, start=1):
        if number % every == 0 and not store.renew(lock):
            raise redis.RedisError("lost the batch's lock while validating")
        yield raw
