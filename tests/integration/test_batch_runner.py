"""The batch runner's bookkeeping on real Redis and a real file store, cut short at every step.

The line executor here stands in for the API's (api/batch_lines.py, which the end-to-end and fault
tests drive): its jobs are entries of a dict that end when the test says, so a crash can be placed
exactly between two writes. Whatever is interrupted, each line ends once in the output file."""

from __future__ import annotations

import json
import threading

import pytest
import redis

from app.batches.executor import Reply
from app.batches.file_store import FileStore
from app.batches.files import FileRegistry, StoredFile
from app.batches.pace import Pace
from app.batches.runner import BatchRunner
from app.batches.store import BatchStore
from app.batches.uploads import create_batch

ENDPOINT = "/v1/chat/completions"


class Jobs:
    """Line jobs that succeed at once (``instant``) or when :meth:`finish_all` is called."""

    def __init__(self, instant: bool = True) -> None:
        self.status: dict[str, str] = {}
        self.submissions: list[str] = []
        self.instant = instant
        self.lock = threading.Lock()

    def model_error(self, endpoint, model, tenant):
        return None

    def start(self, endpoint, body, tenant, job_id):
        jid = job_id(0)
        with self.lock:
            if jid not in self.status:
                self.submissions.append(jid)
                self.status[jid] = "succeeded" if self.instant else "running"
        return [jid]

    def reply(self, endpoint, body, job_ids):
        status = self.status.get(job_ids[0])
        if status is None:
            return "missing"
        if status == "running":
            return None
        if status == "cancelled":
            return Reply(499, {}, "req")
        return Reply(200, {"answer": body()["messages"][0]["content"]}, "req_" + job_ids[0], 1, 1)

    def cancel(self, job_ids):
        for jid in job_ids:
            if self.status.get(jid) == "running":
                self.status[jid] = "cancelled"

    def finish_all(self):
        self.status = {jid: "succeeded" if s == "running" else s for jid, s in self.status.items()}


@pytest.fixture
def parts(redis_server, tmp_path, request):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    prefix = f"runner-test-{request.node.name}"
    files = FileRegistry(client, prefix, FileStore(str(tmp_path / "files")))
    return client, prefix, files, BatchStore(client, prefix, 3600)


def make_batch(parts, count: int) -> str:
    client, prefix, files, batches = parts
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
    raw = "".join(json.dumps({"custom_id": f"c{i}", "method": "POST", "url": ENDPOINT, "body": body}) + "\n" for i in range(count))
    files.store.write("file-in", [raw.encode()])
    files.register(StoredFile("file-in", "t", len(raw), 0, None, "in.jsonl", "batch", count))
    return create_batch(batches, files, tenant="t", input_file_id="file-in", endpoint=ENDPOINT, completion_window="24h",
                        metadata=None, output_expires_s=None, max_active=0)["id"]  # fmt: skip


def runner(parts, jobs: Jobs, max_inflight: int = 3) -> BatchRunner:
    _, _, files, batches = parts
    return BatchRunner(batches, files, jobs, lambda model: (8, 0), Pace(max_inflight=max_inflight), 3600)


def output_ids(parts, batch_id: str) -> list[str]:
    _, _, files, batches = parts
    batch = batches.get(batch_id)
    assert batch["status"] == "completed", batch
    return [json.loads(line)["custom_id"] for line in b"".join(files.store.read_chunks(batch["output_file_id"])).splitlines()]


def test_two_runners_at_once_write_each_line_once(parts):
    batch_id, jobs = make_batch(parts, 40), Jobs()
    runners = [runner(parts, jobs), runner(parts, jobs)]

    def rounds(r: BatchRunner) -> None:
        for _ in range(200):
            r.run_once()
            if parts[3].get(batch_id)["status"] == "completed":
                return

    threads = [threading.Thread(target=rounds, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(output_ids(parts, batch_id)) == sorted(f"c{i}" for i in range(40))
    assert len(jobs.submissions) == 40  # no line submitted twice


def test_a_feeder_that_dies_after_submitting_finds_its_jobs_again(parts, monkeypatch):
    batch_id, jobs = make_batch(parts, 6), Jobs(instant=False)
    first = runner(parts, jobs)
    first.run_once()  # validating -> in_progress
    monkeypatch.setattr(parts[3], "feed", lambda *a, **k: (_ for _ in ()).throw(redis.ConnectionError("died")))
    first.run_once()  # submitted 3 lines, could not record them
    monkeypatch.undo()
    jobs.finish_all()
    again = runner(parts, jobs)
    for _ in range(20):
        again.run_once()
        jobs.finish_all()
    assert sorted(output_ids(parts, batch_id)) == [f"c{i}" for i in range(6)]
    assert len(jobs.submissions) == 6


def test_finalizing_twice_makes_one_output_file(parts, monkeypatch):
    client, prefix, files, batches = parts
    batch_id, jobs = make_batch(parts, 5), Jobs()
    r = runner(parts, jobs)
    original_move = batches.move

    def dies_on_the_last_move(batch_id_, lock, allowed, to, **fields):
        if to == "completed":
            raise redis.ConnectionError("died after writing the output file")
        return original_move(batch_id_, lock, allowed, to, **fields)

    monkeypatch.setattr(batches, "move", dies_on_the_last_move)
    for _ in range(10):
        r.run_once()
    assert batches.get(batch_id)["status"] == "finalizing"
    written_bytes = files.stored_bytes("t")
    monkeypatch.undo()
    r.run_once()
    assert sorted(output_ids(parts, batch_id)) == [f"c{i}" for i in range(5)]
    assert files.stored_bytes("t") == written_bytes  # the output file counted once
    outputs = [f for f in files.list("t", limit=100, after=None, order="desc", purpose="batch_output")[0]]
    assert len(outputs) == 1


def test_a_job_whose_record_was_lost_is_submitted_again(parts):
    batch_id, jobs = make_batch(parts, 4), Jobs(instant=False)
    r = runner(parts, jobs, max_inflight=4)
    r.run_once()
    r.run_once()
    lost = next(iter(jobs.status))
    del jobs.status[lost]  # Redis lost the record (a restart from an AOF a second behind)
    jobs.finish_all()
    r.run_once()
    jobs.finish_all()
    for _ in range(5):
        r.run_once()
    assert sorted(output_ids(parts, batch_id)) == [f"c{i}" for i in range(4)]
    assert jobs.submissions.count(lost) == 2


def test_expired_files_are_deleted_with_their_bytes_unless_a_batch_reads_them(parts):
    client, prefix, files, batches = parts
    files.store.write("file-old", [b"x\n"])
    files.register(StoredFile("file-old", "t", 2, 0, 1, "old.jsonl", "batch", 1))  # expired at t=1
    batch_id = make_batch(parts, 2)  # file-in, read by an active batch
    client.zadd(f"{prefix}:files:expiring", {"file-in": 1})
    assert files.delete_expired() == 1
    assert files.get("file-old") is None and not files.store.exists("file-old")
    assert files.get("file-in") is not None and batches.get(batch_id)["status"] == "validating"
