"""No secret and no prompt or output in any log of a full run: `llmjobs up` (worker, API, Flower) on a
Redis that needs a password, keys from a digest file and from the variable, and traffic of every kind
(stream tokens over SSE and WebSocket, an old client's ?api_key=, wrong keys, OpenAI routes, erase).
Every log line of every process is then searched for each secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest

from app.cli.embedded_redis import EmbeddedRedis, free_port
from app.cli.keys import key_line, new_key
from tests.helpers.waiting import wait_until
from tests.integration.streams import check_complete, read_sse, ws_events

pytestmark = pytest.mark.usefixtures("prepared_model")


def secrets_found(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    return [f"{what} in {name}" for name, text in texts.items() for what, secret in secrets.items() if secret in text]


def test_no_secret_prompt_or_output_reaches_any_log(stack_env, tmp_path):
    password = "redis-" + uuid.uuid4().hex
    redis_server = EmbeddedRedis(tmp_path / "redis", persist=False, password=password).start()
    file_key, env_key, marker = new_key(), new_key(), f"quokka{uuid.uuid4().hex[:8]}"
    (tmp_path / "redis_password").write_text(password + "\n")
    (tmp_path / "api_keys").write_text(key_line(file_key, "alice") + "\n")
    port = free_port()
    env = {
        **stack_env,
        "LLMJOBS_REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
        "LLMJOBS_REDIS_PASSWORD_FILE": str(tmp_path / "redis_password"),
        "LLMJOBS_API_KEYS_FILE": str(tmp_path / "api_keys"),
        "LLMJOBS_API_KEYS": f"{env_key}:bob",
        "LLMJOBS_KEY_PREFIX": "llmjobs-sec",
        "LLMJOBS_QUEUE": "llmjobs-sec.generate",
        "LLMJOBS_PORT": str(port),
        "LLMJOBS_FLOWER_PORT": str(free_port()),
        "LLMJOBS_CACHE": "on",
        "LLMJOBS_CACHE_SEMANTIC": "off",
        "LLMJOBS_RUN_DIR": str(tmp_path / "run"),
    }
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    tokens: list[str] = []
    outputs: list[str] = []
    try:
        wait_until(lambda: stack.poll() is not None or "llmjobs is ready" in log.read_text(errors="replace"), 240, what="llmjobs up")
        assert stack.poll() is None, log.read_text(errors="replace")[-3000:]
        with httpx.Client(base_url=url, timeout=120) as http:
            alice, bob = {"Authorization": f"Bearer {file_key}"}, {"Authorization": f"Bearer {env_key}"}
            prompt = f"Repeat this word exactly: {marker}"
            job = http.post("/v1/jobs", json={"prompt": prompt, "temperature": 0, "max_tokens": 16}, headers=alice).json()
            tokens.append(job["stream_token"])
            with http.stream("GET", f"/v1/jobs/{job['id']}/events?token={job['stream_token']}") as response:
                assert response.status_code == 200
                outputs.append(check_complete(read_sse(response))["output"])
            polled = http.get(f"/v1/jobs/{job['id']}", headers=alice).json()
            tokens.append(polled["stream_token"])
            assert check_complete(ws_events(url, job["id"], f"?token={polled['stream_token']}"))["output"] == outputs[0]
            assert http.get(f"/v1/jobs/{job['id']}/events?api_key={file_key}").status_code == 401  # an old client
            assert http.get(f"/v1/jobs/{job['id']}/events?token={tokens[0][:-3]}xyz").status_code == 401
            assert http.get(f"/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {file_key}x"}).status_code == 401
            chat = http.post(
                "/v1/chat/completions",
                json={"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": prompt + "!"}], "max_tokens": 16},
                headers=bob,
            )
            assert chat.status_code == 200, chat.text
            outputs.append(chat.json()["choices"][0]["message"]["content"])
            assert http.post("/v1/jobs", content=b'{"prompt": ' + marker.encode(), headers=alice).status_code == 400
            erased = wait_until(lambda: (r := http.post(f"/v1/jobs/{job['id']}/erase", headers=alice)).status_code != 409 and r, 30)
            assert erased.status_code == 200
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
        redis_server.stop()
    logs = {str(path.relative_to(tmp_path)): path.read_text(errors="replace") for path in tmp_path.rglob("*.log")}
    assert "up.log" in logs and "redis/redis.log" in logs
    assert "GET /v1/jobs/" in logs["up.log"] and "[redacted]" in logs["up.log"]  # the access log is there, redacted
    secrets = {"the file's API key": file_key, "the variable's API key": env_key, "the Redis password": password}
    secrets |= {f"stream token {n}": token for n, token in enumerate(tokens)}
    secrets |= {"the prompt": marker} | {f"output {n}": text for n, text in enumerate(outputs) if len(text) >= 12}
    found = secrets_found(logs, secrets)
    print(f"secrets found in {len(logs)} logs ({sum(map(len, logs.values()))} characters): {len(found)}")
    assert not found, found
