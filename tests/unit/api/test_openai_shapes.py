"""OpenAI's log-probability shapes from token events (pure logic, a stand-in tokenizer)."""

from api.openai_shapes import Choice, Shaper, choice_body
from app.jobs.events import token_event

PIECES = {1: "The", 2: " cat", 3: " sat", 4: "."}


class Pieces:
    def decode(self, ids):
        return "".join(PIECES[i] for i in ids)


def test_chat_logprobs_carry_bytes_and_top_alternatives():
    shaped = Shaper(Pieces()).chat_logprobs([[2, -0.5, [[2, -0.5], [3, -1.5]]]])
    assert shaped == {
        "content": [
            {"token": " cat", "logprob": -0.5, "bytes": list(b" cat"),
             "top_logprobs": [{"token": " cat", "logprob": -0.5, "bytes": list(b" cat")},
                              {"token": " sat", "logprob": -1.5, "bytes": list(b" sat")}]},
        ]
    }  # fmt: skip


def test_echo_puts_the_prompt_first_with_a_null_first_logprob_and_running_offsets():
    choice = Choice(index=0, prefix="The cat")
    choice.add({**token_event(" sat", [3], logprobs=[[3, -0.7, [[3, -0.7]]]], prompt_logprobs=[None, [2, -2.0, [[4, -1.0]]]])})
    choice.add({"type": "final", "status": "succeeded", "finish_reason": "length", "output": " sat"})
    body = choice_body(Shaper(Pieces()), choice, kind="text", wants_logprobs=True, prompt_ids=[1, 2])
    assert body["text"] == "The cat sat"
    assert body["logprobs"] == {
        "tokens": ["The", " cat", " sat"],
        "token_logprobs": [None, -2.0, -0.7],
        "top_logprobs": [None, {".": -1.0}, {" sat": -0.7}],
        "text_offset": [0, 3, 7],
    }


def test_token_events_name_logprobs_only_when_asked():
    assert "logprobs" not in token_event("x", [1]) and "prompt_logprobs" not in token_event("x", [1])
