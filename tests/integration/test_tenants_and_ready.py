"""API keys and tenant isolation; readiness without a worker."""

import dataclasses
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def keyed_client(config, make_app):
    api = dataclasses.replace(config.api, api_keys={"key-alice": "alice", "key-bob": "bob"})
    return make_app(dataclasses.replace(config, api=api)).test_client()


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def test_missing_or_wrong_key_is_a_401(keyed_client, france):
    for headers in ({}, auth("nope"), {"Authorization": "Basic a2V5LWFsaWNl"}, {"Authorization": "Bearer "}):
        response = keyed_client.post("/v1/jobs", json={"prompt": france}, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["type"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_tenant_never_sees_another_tenants_job(keyed_client, france):
    created = keyed_client.post("/v1/jobs", json={"prompt": france, "max_tokens": 4}, headers=auth("key-alice"))
    assert created.status_code == 202
    job_id = created.get_json()["id"]
    assert keyed_client.get(f"/v1/jobs/{job_id}", headers=auth("key-alice")).status_code == 200
    hidden = keyed_client.get(f"/v1/jobs/{job_id}", headers=auth("key-bob"))
    assert hidden.status_code == 404
    assert hidden.get_json()["error"]["type"] == "not_found"


def test_probes_need_no_key(keyed_client):
    assert keyed_client.get("/healthz").status_code == 200


def test_readyz_is_503_while_no_worker_consumes_the_queue(config, make_app):
    worker = dataclasses.replace(config.worker, queue="a-queue-nobody-consumes")
    response = make_app(dataclasses.replace(config, worker=worker)).test_client().get("/readyz")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["type"] == "not_ready" and "a-queue-nobody-consumes" in error["message"]


def test_readyz_is_503_when_redis_is_down(config, make_app):
    redis = dataclasses.replace(config.redis, url="redis://127.0.0.1:1/0")
    response = make_app(dataclasses.replace(config, redis=redis)).test_client().get("/readyz")
    assert response.status_code == 503
    assert "Redis" in response.get_json()["error"]["message"]


def test_submit_with_redis_down_is_a_503(config, france, make_app):
    redis = dataclasses.replace(config.redis, url="redis://127.0.0.1:1/0")
    response = make_app(dataclasses.replace(config, redis=redis)).test_client().post("/v1/jobs", json={"prompt": france})
    assert response.status_code == 503
    assert response.get_json()["error"]["type"] == "service_unavailable"


def test_the_api_process_never_loads_the_model(stack_env, prepared_model):
    code = (
        "import sys; from api import create_app; create_app(); "
        "loaded = [m for m in ('app.engine.naive_engine', 'workers.engine_host', 'workers.tasks') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], env=stack_env, check=True, timeout=120)
