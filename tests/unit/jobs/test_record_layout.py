"""An ended job's record layout: the Lua that settles it and the Python that reads or writes it agree."""

import json
import re

from app.jobs import record, scripts


def lua_set(name: str) -> set[str]:
    body = re.search(rf"local {name} = \{{(.*?)\}}", scripts.FINISH, flags=re.S).group(1)
    return set(re.findall(r"(\w+) = true", body))


def test_the_lua_and_the_python_drop_and_keep_the_same_fields():
    assert lua_set("LIVE_ONLY") == record.LIVE_ONLY
    assert lua_set("TOP") == set(record.TOP)


def test_a_settled_record_reads_back_as_the_flat_fields_less_the_live_ones():
    fields = record.new_fields("3f0c", {"prompt": "x"}, "alice", "m", 1.5, "succeeded")
    fields.update(output='say "hi"', usage='{"total_tokens":3}', worker="w1", queue_score="5e10")
    stored = record.settled(fields)
    assert set(stored) == {"status", "tenant", "record"}
    assert json.loads(stored["record"])["output"] == 'say "hi"'
    flat = record.unpacked(stored)
    assert flat == {k: str(v) for k, v in fields.items() if k not in ("id", "queue_score")}  # the worker stays: who ran it
    assert record.unpacked(fields) is fields  # a live job's hash is already flat
