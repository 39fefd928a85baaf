"""LoRA adapters: exactness against PEFT's own PeftModel (alone and in a mixed batch of 32, in-process
on the real default model), then the stack: vLLM's load/unload routes, a request naming an adapter,
/v1/models, admin keys and tenant pinning (an API with keys of its own, over the session's worker).

The adapters are made here, random, with PEFT, and saved in its format; nothing is downloaded."""

from __future__ import annotations

import copy
from dataclasses import replace

import httpx
import pytest

from app.cli.commands import api_command
from app.cli.embedded_redis import free_port
from app.config import load_config
from app.engine.types import GenerationRequest, LoraRef, SamplingParams
from app.lora_files import check_adapter
from tests.helpers.engine_runs import QUESTIONS, chat_ids, run_together

TARGETS = [
    ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    ["q_proj", "v_proj"],
    ["o_proj", "gate_proj", "up_proj", "down_proj"],
]
NEW_TOKENS = 20


@pytest.fixture(scope="module")
def base(config):
    """The default model as float32 weights rounded as the worker's format holds them, and its tokenizer.
    The stack's worker runs ``fp16-weights`` (float16 weights, float32 arithmetic): the same numbers."""
    import torch

    from app.engine.loader import load_model

    model, tokenizer, _ = load_model(replace(config.model, quantization="none"))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())
    model.generation_config.eos_token_id = None  # PEFT's generate runs to max_new_tokens, as ignore_eos does here
    model.generation_config.pad_token_id = 0
    return model, tokenizer


@pytest.fixture(scope="module")
def adapters(base, tmp_path_factory) -> list[LoraRef]:
    """Three random adapters of ranks 8, 16 and 64 over different modules, saved by PEFT."""
    import torch
    from peft import LoraConfig, get_peft_model

    model, _ = base
    refs = []
    for i, (rank, targets) in enumerate(zip((8, 16, 64), TARGETS, strict=True)):
        torch.manual_seed(i)
        peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=targets,
                                                                     init_lora_weights=False))  # fmt: skip
        with torch.no_grad():
            for name, parameter in peft_model.named_parameters():
                if "lora_B" in name:
                    parameter.mul_(0.2 if rank < 64 else 0.05)  # changes the answers, keeps them words
        folder = tmp_path_factory.mktemp(f"adapter{i}")
        peft_model.save_pretrained(folder)
        refs.append(LoraRef(f"adapter{i}", str(folder), check_adapter(str(folder)).digest))
    return refs


def peft_greedy(base, ref: LoraRef | None, prompt_ids: list[int]) -> list[int]:
    import torch
    from peft import PeftModel

    model, _ = base
    reference = PeftModel.from_pretrained(copy.deepcopy(model), ref.path) if ref is not None else model
    out = reference.generate(torch.tensor([prompt_ids]), max_new_tokens=NEW_TOKENS, do_sample=False)
    return out[0, len(prompt_ids) :].tolist()


@pytest.fixture(scope="module")
def engine(base):
    from app.engine.batching_engine import BatchingEngine

    model, tokenizer = base
    engine = BatchingEngine(model, tokenizer, device="cpu", model_name="m", context_length=8192, time_limit_s=300, max_num_seqs=32,
                            max_num_batched_tokens=512, max_kv_tokens=65536, runner="lean", max_loras=4)  # fmt: skip
    yield engine
    engine.close()


def greedy(prompt_ids: list[int], lora: LoraRef | None, request_id: str = "r") -> GenerationRequest:
    return GenerationRequest(request_id, prompt_ids, SamplingParams(max_tokens=NEW_TOKENS, temperature=0, ignore_eos=True), lora=lora)


def test_a_row_with_its_adapter_equals_peft_alone_and_in_a_mixed_batch_of_32(base, adapters, engine):
    prompts = [chat_ids(engine, question) for question in QUESTIONS]
    choices = [None, *adapters]
    requests = [greedy(prompts[i % len(prompts)], choices[i % len(choices)], str(i)) for i in range(32)]
    expected: dict = {}

    def peft(lora: LoraRef | None, prompt_ids: list[int]) -> list[int]:
        key = (lora, tuple(prompt_ids))
        if key not in expected:
            expected[key] = peft_greedy(base, lora, prompt_ids)
        return expected[key]

    alone = [engine.generate(greedy(prompts[0], ref)).token_ids for ref in adapters]
    assert alone == [peft(ref, prompts[0]) for ref in adapters]
    together = run_together(engine, requests)
    assert [c.token_ids for c in together] == [peft(r.lora, r.prompt_token_ids) for r in requests]
    # The adapters matter: each answers some of the questions otherwise than the base model does.
    assert all(any(peft(ref, p) != peft(None, p) for p in prompts) for ref in adapters)


def test_the_bank_holds_at_most_max_loras_and_reloads_an_evicted_adapter(base, adapters, tmp_path):
    from app.engine.lora_bank import LoraBank

    model, tokenizer = base
    bank = LoraBank(model, capacity=2)
    for ref in [*adapters, adapters[0]]:
        bank.preload(ref)
    assert bank.resident == ["adapter2", "adapter0"] and bank.num_loads == 4


def test_an_adapter_whose_files_changed_is_refused(base, adapters, engine, tmp_path):
    from app.errors import InvalidRequestError

    stale = replace(adapters[0], digest="0" * 64)
    with pytest.raises(InvalidRequestError, match="changed since it was loaded"):
        engine.generate(greedy(chat_ids(engine, QUESTIONS[0]), stale))


# --- the stack ---


def load(http: httpx.Client, name: str, path: str, **extra) -> httpx.Response:
    return http.post("/v1/load_lora_adapter", json={"lora_name": name, "lora_path": path, **extra})


def test_load_request_list_and_unload_over_the_stack(worker, http, api_url, adapters, base):
    ref = adapters[1]
    assert load(http, "stack-adapter", ref.path).text == "Success: LoRA adapter 'stack-adapter' added successfully."
    again = load(http, "stack-adapter", ref.path)
    assert again.status_code == 400 and again.json()["error"]["message"] == "The lora adapter 'stack-adapter' has already been loaded."
    assert load(http, "nowhere", "/no/such/adapter").status_code == 404
    cards = {card["id"]: card for card in http.get("/v1/models").json()["data"]}
    assert cards["stack-adapter"]["parent"] == cards[next(iter(cards))]["id"] and cards["stack-adapter"]["root"] == ref.path

    import openai

    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0, timeout=120)
    messages = [{"role": "user", "content": QUESTIONS[1]}]
    reply = client.chat.completions.create(model="stack-adapter", messages=messages, max_tokens=NEW_TOKENS, temperature=0)
    model, tokenizer = base
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    expected = tokenizer.decode(peft_greedy(base, ref, list(prompt)), skip_special_tokens=True)
    assert reply.model == "stack-adapter" and expected.startswith(reply.choices[0].message.content)
    plain = client.chat.completions.create(model=cards[next(iter(cards))]["id"], messages=messages, max_tokens=NEW_TOKENS, temperature=0)
    assert plain.choices[0].message.content != reply.choices[0].message.content

    assert http.post("/v1/unload_lora_adapter", json={"lora_name": "stack-adapter"}).status_code == 200
    gone = http.post("/v1/chat/completions", json={"model": "stack-adapter", "messages": messages})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
    missing = http.post("/v1/unload_lora_adapter", json={"lora_name": "stack-adapter"})
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "The lora adapter 'stack-adapter' cannot be found."


def test_a_client_cannot_name_an_adapter_folder(http):
    answer = http.post("/v1/jobs", json={"prompt": "hi", "lora": {"name": "x", "path": "/etc", "digest": "0" * 64}})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "lora"


@pytest.fixture(scope="module")
def keyed_api(stack_env, adapters, start_process, tmp_path_factory):
    """An API of its own with keys (admin ``ops``, ``acme`` pinned to ``acme-bot``, ``other``), declaring
    ``acme-bot`` and ``shared``; the session's worker runs its jobs (same Redis, same queue)."""
    env = {**stack_env, "LLMJOBS_PORT": str(free_port()), "LLMJOBS_ADMIN_TENANTS": "ops",
           "LLMJOBS_API_KEYS": "k-ops:ops,k-acme:acme loras=acme-bot,k-other:other",
           "LLMJOBS_LORA_MODULES": f"acme-bot={adapters[0].path},shared={adapters[2].path}"}  # fmt: skip
    config = load_config(env)
    url = f"http://{config.api.host}:{config.api.port}"
    with start_process("API", api_command(config), env, tmp_path_factory.mktemp("keyed") / "api.log", f"{url}/healthz"):
        yield url
        with client_of(url, "k-ops") as ops:  # the session's other tests list the models: leave none of ours
            for name in ("acme-bot", "shared"):
                ops.post("/v1/unload_lora_adapter", json={"lora_name": name})


def client_of(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"})


def test_only_admin_keys_load_adapters(keyed_api, adapters):
    with client_of(keyed_api, "k-other") as other, client_of(keyed_api, "k-ops") as ops:
        refused = load(other, "x", adapters[1].path)
        assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
        assert load(ops, "ops-adapter", adapters[1].path).status_code == 200
        assert ops.post("/v1/unload_lora_adapter", json={"lora_name": "ops-adapter"}).status_code == 200


def test_a_pinned_tenant_runs_on_its_adapter_and_sees_only_it(worker, keyed_api, base, adapters, config, wait_for_job):
    messages = [{"role": "user", "content": QUESTIONS[0]}]
    body = {"messages": messages, "max_tokens": NEW_TOKENS, "temperature": 0}
    with client_of(keyed_api, "k-acme") as acme, client_of(keyed_api, "k-other") as other:
        assert [card["id"] for card in acme.get("/v1/models").json()["data"]][:1] == ["acme-bot"]
        assert "acme-bot" not in {card["id"] for card in other.get("/v1/models").json()["data"]}
        job = acme.post("/v1/jobs", json=body).json()  # no model named: the tenant's adapter
        record = wait_for_job(lambda job_id: acme.get(f"/v1/jobs/{job_id}").json(), job["id"])
        _, tokenizer = base
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        expected = tokenizer.decode(peft_greedy(base, adapters[0], list(prompt)), skip_special_tokens=True)
        assert record["status"] == "succeeded" and expected.startswith(record["output"])
        reply = acme.post("/v1/chat/completions", json={**body, "model": "acme-bot"})
        assert reply.status_code == 200 and reply.json()["model"] == "acme-bot"
        assert reply.json()["choices"][0]["message"]["content"] == record["output"]
        for model in ("shared", config.model.source().name):  # another adapter, or the base model
            assert acme.post("/v1/chat/completions", json={**body, "model": model}).status_code == 404
        assert other.post("/v1/chat/completions", json={**body, "model": "acme-bot"}).status_code == 404
        assert other.post("/v1/chat/completions", json={**body, "model": "shared", "max_tokens": 4}).status_code == 200
