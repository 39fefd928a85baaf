"""OutputProcessor with a tiny byte-level tokenizer (token i is byte i): pure logic, no model."""

import pytest

from app.engine.output_processor import OutputProcessor
from tests.helpers.byte_tokenizer import byte_tokenizer

EOS = 0


def run(text_or_ids, **kw):
    ids = list(text_or_ids.encode()) if isinstance(text_or_ids, str) else text_or_ids
    proc = OutputProcessor(byte_tokenizer(), eos_token_ids=[EOS], max_tokens=kw.pop("max_tokens", 100), **kw)
    deltas = []
    for token in ids:
        deltas.append(proc.append(token))
        if proc.finished:
            break
    return proc, deltas


def test_deltas_concatenate_to_text():
    proc, deltas = run("Hello, world")
    assert "".join(deltas) == proc.text == "Hello, world"
    assert proc.finish_reason is None


def test_multibyte_character_is_held_until_complete():
    proc, deltas = run("é!")  # é is two bytes
    assert deltas == ["", "é", "!"]
    assert proc.text == "é!"


def test_eos_finishes_with_stop():
    proc, deltas = run([72, 105, EOS, 72])
    assert proc.text == "Hi" and proc.finish_reason == "stop"
    assert proc.token_ids == [72, 105, EOS]


def test_max_tokens_finishes_with_length():
    proc, deltas = run("abcdef", max_tokens=3)
    assert proc.text == "abc" and proc.finish_reason == "length"
    assert "".join(deltas) == "abc"


def test_stop_string_is_cut_and_never_streamed():
    proc, deltas = run("one. two. three.", stop=["two"])
    assert proc.text == "one. " and proc.finish_reason == "stop"
    assert "".join(deltas) == "one. "
    assert all("t" not in d for d in deltas)


def test_partial_stop_string_is_released_when_it_does_not_match():
    proc, deltas = run("ab", stop=["bc"])
    assert deltas == ["a", ""]
    assert proc.finish("length") == "b"
    assert proc.text == "ab"


@pytest.mark.parametrize("stop", [["."], [".", "lo"], ["xyz", "o,"]])
def test_earliest_stop_wins(stop):
    proc, _ = run("Hello, world.", stop=stop)
    first = min(i for i in ("Hello, world.".find(s) for s in stop) if i >= 0)
    assert proc.text == "Hello, world."[:first]


def test_finish_keeps_first_reason():
    proc, _ = run("abc", max_tokens=3)
    assert proc.finish("cancelled") == ""
    assert proc.finish_reason == "length"


def test_include_stop_str_in_output_keeps_the_stop_string():
    proc, deltas = run("Hello. More", stop=["."], include_stop_str_in_output=True)
    assert proc.text == "".join(deltas) == "Hello." and proc.finish_reason == "stop"


def test_min_tokens_ignores_stop_strings_until_reached():
    proc, _ = run("a.b.c", stop=["."], min_tokens=3)
    assert proc.text == "a.b" and proc.finish_reason == "stop"
