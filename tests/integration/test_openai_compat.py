"""What clients of vLLM and llama-server expect beyond OpenAI's basics, through the real stack:
/health, /version, /tokenize, /detokenize, /v1/models' fields, vLLM's sampling extensions, log
probabilities (chat; completions with echo, as eval harnesses score multiple choice), n > 1,
continuous usage in streams, and /v1/embeddings."""

import json
import math

import numpy as np
import openai
import pytest

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def client(api_url):
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def model(client):
    return client.models.list().data[0].id


def test_health_version_and_models(http, config):
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/version").json()["version"]
    [llm, embedder] = http.get("/v1/models").json()["data"]
    assert llm["owned_by"] == "llmjobs" and llm["max_model_len"] > 0
    assert embedder["id"] == "all-MiniLM-L6-v2"


def test_tokenize_and_detokenize_in_both_servers_shapes(http, model):
    vllm = http.post("/tokenize", json={"model": model, "prompt": "The capital of France"}).json()
    assert vllm["count"] == len(vllm["tokens"]) > 0 and vllm["max_model_len"] > 0
    llama = http.post("/tokenize", json={"content": "The capital of France", "with_pieces": True}).json()
    assert "".join(t["piece"] for t in llama["tokens"]) == "The capital of France"
    text = http.post("/detokenize", json={"tokens": vllm["tokens"]}).json()
    assert text["prompt"] == text["content"] == "The capital of France"
    chat = http.post("/tokenize", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    assert chat["count"] > vllm["count"] - 4  # the chat template's tokens around it


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tokenize", {}),
        ("/tokenize", {"prompt": "a", "messages": [{"role": "user", "content": "b"}]}),
        ("/detokenize", {"tokens": [10**9]}),
        ("/detokenize", {"tokens": [-1]}),
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": []}),
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 8}),
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": [[1, 2, 3]]}),
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": "word " * 600}),
    ],
)
def test_bad_input_is_a_400(http, path, body):
    reply = http.post(path, json=body)
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"


def test_chat_logprobs_streamed_equal_not_streamed(client, model, france):
    ask = {"model": model, "messages": [{"role": "user", "content": france}], "temperature": 0, "logprobs": True, "top_logprobs": 2}
    reply = client.chat.completions.create(**ask)
    entries = reply.choices[0].logprobs.content
    assert len(entries) == reply.usage.completion_tokens  # the end-of-turn token too: it was generated
    assert "".join(e.token for e in entries) == reply.choices[0].message.content + "<|im_end|>"
    assert all(e.logprob <= 0 and len(e.top_logprobs) == 2 and e.top_logprobs[0].logprob >= e.logprob - 1e-6 for e in entries)
    chunks = list(client.chat.completions.create(**ask, stream=True))
    streamed = [e for c in chunks if c.choices and c.choices[0].logprobs for e in c.choices[0].logprobs.content]
    assert [(e.token, round(e.logprob, 4)) for e in streamed[: len(entries)]] == [(e.token, round(e.logprob, 4)) for e in entries]


def test_echo_logprobs_score_a_multiple_choice_task_as_an_eval_harness_does(client, model, http):
    """lm-evaluation-harness' way: score each continuation by the logprobs of its tokens with echo, pick the best."""
    items = [
        ("The capital of France is", [" Paris", " a banana", " seventeen"], 0),
        ("Two plus two equals", [" purple", " four", " the ocean"], 1),
        ("The opposite of hot is", [" Tuesday", " bicycle", " cold"], 2),
    ]
    correct = 0
    for context, options, answer in items:
        scores = []
        for option in options:
            reply = client.completions.create(model=model, prompt=context + option, max_tokens=1, echo=True, logprobs=1, temperature=0)
            logprobs = reply.choices[0].logprobs
            assert logprobs.token_logprobs[0] is None and reply.choices[0].text.startswith(context + option)
            num_context = http.post("/tokenize", json={"prompt": context}).json()["count"]
            num_prompt = http.post("/tokenize", json={"prompt": context + option}).json()["count"]
            assert "".join(logprobs.tokens[:num_prompt]) == context + option
            assert logprobs.text_offset[:2] == [0, len(logprobs.tokens[0])]
            scores.append(sum(logprobs.token_logprobs[num_context:num_prompt]))
        correct += int(np.argmax(scores) == answer)
    assert correct == len(items)


def test_n_choices_streamed_and_not(client, model):
    ask = {"model": model, "messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 8, "temperature": 1.0, "seed": 5}
    reply = client.chat.completions.create(**ask, n=3)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert reply.usage.completion_tokens >= 3 and len({c.message.content for c in reply.choices}) > 1  # three samples
    again = client.chat.completions.create(**ask, n=3)
    assert [c.message.content for c in again.choices] == [c.message.content for c in reply.choices]  # seeded: repeatable
    chunks = list(client.chat.completions.create(**ask, n=3, stream=True, stream_options={"include_usage": True}))
    texts = ["", "", ""]
    for c in chunks:
        for choice in c.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts == [c.message.content for c in reply.choices]
    assert chunks[-1].usage.completion_tokens == reply.usage.completion_tokens


def test_continuous_usage_counts_up_in_every_chunk(http, model):
    body = {"model": model, "prompt": "Once upon a time", "max_tokens": 6, "ignore_eos": True, "stream": True,
            "stream_options": {"include_usage": True, "continuous_usage_stats": True}}  # fmt: skip
    with http.stream("POST", "/v1/completions", json=body) as reply:
        chunks = [line.removeprefix("data: ") for line in reply.iter_lines() if line.startswith("data: {")]
    usages = [json.loads(chunk)["usage"] for chunk in chunks]
    counts = [u["completion_tokens"] for u in usages]
    assert counts == sorted(counts) and counts[-1] == 6 and all(u["prompt_tokens"] == usages[-1]["prompt_tokens"] for u in usages)


def test_vllm_extensions_change_the_answer_as_documented(client, model, france):
    ask = {"model": model, "messages": [{"role": "user", "content": france}], "temperature": 0}
    long = client.chat.completions.create(**ask, max_tokens=30, extra_body={"min_tokens": 30})
    assert long.usage.completion_tokens == 30 and long.choices[0].finish_reason == "length"
    kept = client.chat.completions.create(**ask, stop=["Paris"], extra_body={"include_stop_str_in_output": True})
    assert kept.choices[0].message.content.endswith("Paris")
    turn = {"model": model, "prompt": "<|im_start|>user\nSay hello.<|im_end|>\n", "max_tokens": 3, "temperature": 0}
    shown = client.completions.create(**turn, extra_body={"skip_special_tokens": False}).choices[0].text
    skipped = client.completions.create(**turn).choices[0].text
    assert shown.startswith("<|im_start|>assistant") and skipped.startswith("assistant")
    penalised = client.chat.completions.create(**ask, presence_penalty=1.0, frequency_penalty=1.0, user="someone",
                                               extra_body={"repetition_penalty": 1.2})  # fmt: skip
    assert penalised.choices[0].message.content


def test_embeddings_in_openai_shape(client):
    texts = ["A cat sat on the mat.", "A kitten rested on the rug.", "Quarterly revenue grew by four percent."]
    reply = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)  # the client asks for base64 and decodes it
    vectors = np.array([d.embedding for d in reply.data])
    assert vectors.shape == (3, 384) and [d.index for d in reply.data] == [0, 1, 2]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert reply.usage.prompt_tokens == reply.usage.total_tokens > 0
    single = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts[0], encoding_format="float")
    assert math.isclose(float(np.array(single.data[0].embedding) @ vectors[0]), 1.0, abs_tol=1e-4)
