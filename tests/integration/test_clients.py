"""Third-party clients, unmodified, against the real stack: the tools people already point at
OpenAI-compatible servers (README: "Works with"). The official openai client has its own file
(test_openai_api.py); the eval-harness way of scoring is in test_openai_compat.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("worker")

MODEL = "smollm2-135m-instruct"


def test_guidellm_short_synthetic_run_has_no_errored_request(api_url, config, stack_env, tmp_path):
    """guidellm (vLLM's benchmark client): its /health check, then streamed chat completions with
    ``stream_options.continuous_usage_stats`` and ``ignore_eos``, 4 streams, 8 requests."""
    report = tmp_path / "guidellm.json"
    command = [
        str(Path(sys.executable).with_name("guidellm")), "run",
        "--backend", f"kind=openai_http,target={api_url},model={MODEL}",
        "--profile", "kind=concurrent,streams=4",
        "--constraint", "kind=max_requests,count=8",
        "--data", "kind=synthetic_text,prompt_tokens=32,output_tokens=16",
        "--tokenizer", f"kind=huggingface_auto,model={config.model.source().path}",
        "--output", f"kind=json,path={report}",
        "--disable-console-interactive",
    ]  # fmt: skip
    env = {**stack_env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    [benchmark] = json.loads(report.read_text())["benchmarks"]
    totals = benchmark["metrics"]["request_totals"]
    assert totals["errored"] == 0 and totals["successful"] == 8, totals


def test_langchain_chat_openai_invoke_and_stream(api_url, france):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=f"{api_url}/v1", api_key="unused", model=MODEL, temperature=0, max_retries=0, timeout=120)
    assert "Paris" in chat.invoke(france).content
    assert "Paris" in "".join(chunk.content for chunk in chat.stream(france))


def test_litellm_completion_with_an_openai_base_url(api_url, france, monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download of its price list
    import litellm

    messages = [{"role": "user", "content": france}]
    reply = litellm.completion(model=f"openai/{MODEL}", api_base=f"{api_url}/v1", api_key="unused", messages=messages, temperature=0)
    assert "Paris" in reply.choices[0].message.content and reply.usage.completion_tokens > 0
    chunks = litellm.completion(
        model=f"openai/{MODEL}", api_base=f"{api_url}/v1", api_key="unused", messages=messages, temperature=0, stream=True
    )
    assert "Paris" in "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
