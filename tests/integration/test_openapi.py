"""The OpenAPI document covers every route, the docs page works offline, and fuzzing the whole API
from the document finds no server error and no answer that breaks the document.

The fuzzed API runs in-process on a queue nobody consumes, bounded at one job that is already
there: every valid submit is answered 429 at once instead of waiting on a generation."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.cli.commands import api_command
from app.cli.embedded_redis import free_port
from app.config import load_config
from app.jobs.worker_registry import WorkerRegistry

NOT_DOCUMENTED = {"/", "/jobs", "/docs", "/openapi.json", "/docs/assets/<path:name>", "/v1/jobs/<job_id>/ws", "/static/<path:filename>"}


@pytest.fixture(scope="module")
def fuzz_app(stack_env, make_app):
    prefix = f"fuzz-{uuid.uuid4().hex[:8]}"
    config = load_config({**stack_env, "LLMJOBS_KEY_PREFIX": prefix, "LLMJOBS_QUEUE": f"{prefix}.generate", "LLMJOBS_MAX_QUEUED": "1"})
    app = make_app(config)
    client = app.test_client()
    assert client.post("/v1/jobs", json={"prompt": "Fill the queue.", "cache": False}).status_code == 202
    services = app.extensions["llmjobs"]  # a live worker for /readyz (the queue itself stays full)
    WorkerRegistry(services.jobs.redis, services.jobs.keys, 60).beat("fuzz-worker", {"id": "fuzz-worker", "queues": [config.worker.queue]})
    return app


def test_the_document_covers_every_route(fuzz_app):
    document = fuzz_app.test_client().get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = {re.sub(r"\{(\w+)\}", r"<\1>", path) for path in document["paths"]}
    routes = {rule.rule for rule in fuzz_app.url_map.iter_rules() if rule.endpoint != "static"}
    assert routes - NOT_DOCUMENTED == documented
    assert {"JobRequest", "ChatCompletionRequest", "CompletionRequest", "Error", "Job", "BatchObject", "FileObject"} <= set(
        document["components"]["schemas"]
    )


def test_the_docs_page_loads_its_assets_from_this_server(fuzz_app):
    client = fuzz_app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    assert "https://" not in page and "/docs/assets/js/swagger-ui-bundle.js" in page
    for asset in ("js/swagger-ui-bundle.js", "css/swagger-ui.css"):
        with client.get(f"/docs/assets/{asset}") as response:  # closes the file it streams
            assert response.status_code == 200


def test_fuzzing_finds_no_server_error(fuzz_app, stack_env, start_process, tmp_path):
    """schemathesis over /openapi.json against the API under gunicorn, as it runs in production."""
    config = fuzz_app.extensions["llmjobs"].config
    env = {**stack_env, "LLMJOBS_KEY_PREFIX": config.redis.key_prefix, "LLMJOBS_QUEUE": config.worker.queue,
           "LLMJOBS_MAX_QUEUED": "1", "LLMJOBS_PORT": str(free_port())}  # fmt: skip
    url = f"http://127.0.0.1:{env['LLMJOBS_PORT']}"
    checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
    options = ["--checks", checks, "--phases", "examples,coverage,fuzzing", "--max-examples", "10", "--max-time", "30"]
    options += ["--request-timeout", "10", "--seed", "1", "--no-color"]  # bounded: a fixed seed, 30 s of fuzzing
    command = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json", *options]
    with start_process("API", api_command(load_config(env)), env, tmp_path / "api.log", f"{url}/healthz"):
        result = subprocess.run(command, capture_output=True, text=True, timeout=400, cwd=tmp_path)  # its cache stays out of the repo
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_docs_page_renders_in_a_browser(browser, api_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(api_url + "/docs")
    title = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    assert "llmjobs" in title[0].text
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock"), "the operations are listed"
