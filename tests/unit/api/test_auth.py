"""Who may call: keys compared as SHA-256 digests, no key in a URL, and no secret in a log line."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import pytest
from flask import Flask, g
from werkzeug.exceptions import Unauthorized

from api.auth import require_stream_access, require_tenant, require_tenant_unless_public
from api.gunicorn_conf import RedactingFilter, redact
from app.config import load_config
from app.settings.value_types import key_digest


def app_with(api_keys: dict[str, str], public_pages: bool = False) -> Flask:
    config = load_config({})
    api = dataclasses.replace(config.api, api_keys=api_keys, public_pages=public_pages)
    app = Flask(__name__)
    app.extensions["llmjobs"] = SimpleNamespace(config=dataclasses.replace(config, api=api))
    return app


def tenant_for(app: Flask, hook=require_tenant, path: str = "/v1/jobs", **headers: str) -> str:
    with app.test_request_context(path, headers=headers):
        hook()
        return g.tenant


def test_a_plaintext_key_and_a_digest_both_name_their_tenant():
    app = app_with({"plain-key": "alice", key_digest("file-key"): "bob"})
    assert tenant_for(app, Authorization="Bearer plain-key") == "alice"
    assert tenant_for(app, Authorization="Bearer file-key") == "bob"
    assert tenant_for(app, Authorization="bearer  file-key ") == "bob"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic ZmlsZS1rZXk="}, {"Authorization": "Bearer " + key_digest("file-key")}],
)
def test_anything_else_is_a_401_even_the_digest_itself(headers):
    app = app_with({key_digest("file-key"): "bob"})
    with pytest.raises(Unauthorized):
        tenant_for(app, **headers)


def test_a_key_in_the_url_is_refused_with_a_reason():
    app = app_with({"plain-key": "alice"})
    with pytest.raises(Unauthorized, match="not accepted in a URL"):
        tenant_for(app, require_stream_access, "/v1/jobs/x/events?api_key=plain-key")


def test_without_keys_everyone_is_the_anonymous_tenant():
    app = app_with({})
    assert tenant_for(app) == "" and tenant_for(app, require_stream_access, "/v1/jobs/x/events") == ""


def test_pages_need_a_key_unless_public():
    with pytest.raises(Unauthorized):
        tenant_for(app_with({"k": "alice"}), require_tenant_unless_public, "/")
    with app_with({"k": "alice"}, public_pages=True).test_request_context("/"):
        require_tenant_unless_public()  # no 401


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 - - "GET /v1/jobs/1/events?api_key=secret-key-123 HTTP/1.1" 200',
        "Error handling request /v1/jobs/1/ws?last_event_id=3&token=WyIx.Zk9.sig",
        "GET /v1/x?a=1&stream_token=WyIx.Zk9.sig&TOKEN=abc&password=pw",
    ],
)
def test_secrets_in_query_strings_never_reach_a_log_line(line, caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("%s", line)
    text = caplog.records[0].getMessage()
    for secret in ("secret-key-123", "WyIx.Zk9.sig", "abc", "pw"):
        assert f"={secret}" not in text
    assert "[redacted]" in text and redact(text) == text


def test_redaction_leaves_other_parameters_alone():
    assert redact("GET /v1/jobs/1/events?last_event_id=4 HTTP/1.1") == "GET /v1/jobs/1/events?last_event_id=4 HTTP/1.1"
