"""Redis Sentinel settings: kombu's `sentinel://` form parsed and redacted, the password files, the
clients built from it (redis-py's Sentinel pool, kombu's transport options) and `llmjobs up`'s refusal
to embed a Redis in its place. No Redis: building a Sentinel client connects to nothing."""

from __future__ import annotations

import pytest
from redis.sentinel import SentinelManagedConnection

from app.cli.embedded_redis import free_port
from app.cli.stack import embedded_redis_or_none
from app.config import load_config, redacted
from app.errors import ConfigError
from app.redis_conn import MAX_CONNECTIONS, BlockingSentinelConnectionPool, connect
from app.settings.redis_url import SentinelURL, parse_sentinel
from workers.celery_app import make_celery

THREE = "sentinel://h1:26379;sentinel://h2:26380;sentinel://h3/2"


def test_the_sentinel_form_is_parsed():
    assert parse_sentinel(THREE) == SentinelURL(hosts=(("h1", 26379), ("h2", 26380), ("h3", 26379)), db=2)
    assert parse_sentinel("sentinel://u:p%3Bw@h1:1;sentinel://h2:2") == SentinelURL((("h1", 1), ("h2", 2)), 0, "u", "p;w")
    assert parse_sentinel("sentinel://[::1]:5/0").hosts == (("::1", 5),)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sentinel://h1:1;redis://h2:2", "must be a sentinel:// URL, part 2 is not"),
        ("sentinel://:secret@:1", "part 1 names no host"),
        ("sentinel://h1:port", "part 1 has a bad port"),
        ("sentinel://h1:1/0;sentinel://h2:2/1", "different databases"),
        ("sentinel://h1:1/zero", "the database must be a number"),
        ("sentinel://h1:1/0?socket_timeout=1", "options after `?`"),
    ],
)
def test_a_bad_sentinel_url_names_the_variable_and_the_problem(url, problem):
    with pytest.raises(ConfigError, match="LLMJOBS_REDIS_URL") as caught:
        load_config({"LLMJOBS_REDIS_URL": url})
    assert problem in str(caught.value)


def test_defaults_and_the_master_name():
    config = load_config({"LLMJOBS_REDIS_URL": THREE})
    assert (config.redis.url, config.redis.sentinel_master, config.redis.sentinel_password) == (THREE, "mymaster", "")
    assert (config.redis.wait_replicas, config.redis.wait_timeout_s) == (0, 0.5)
    assert load_config({"LLMJOBS_REDIS_URL": THREE, "LLMJOBS_REDIS_SENTINEL_MASTER": "jobs"}).redis.sentinel_master == "jobs"
    with pytest.raises(ConfigError, match="LLMJOBS_REDIS_SENTINEL_MASTER"):
        load_config({"LLMJOBS_REDIS_SENTINEL_MASTER": "two words"})
    with pytest.raises(ConfigError, match="LLMJOBS_REDIS_WAIT_TIMEOUT"):
        load_config({"LLMJOBS_REDIS_WAIT_TIMEOUT": "0"})  # WAIT 1 0 would block for ever


def test_the_password_files_go_to_the_master_and_the_sentinels(tmp_path):
    (tmp_path / "master").write_text("p@ss;word\n")
    (tmp_path / "sentinels").write_text("s3cret\n")
    config = load_config(
        {
            "LLMJOBS_REDIS_URL": THREE,
            "LLMJOBS_REDIS_PASSWORD_FILE": str(tmp_path / "master"),
            "LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE": str(tmp_path / "sentinels"),
        }
    )
    # kombu reads the password and database from the first part only: every part carries them.
    assert config.redis.url == ";".join(f"sentinel://:p%40ss%3Bword@{host}/2" for host in ("h1:26379", "h2:26380", "h3:26379"))
    assert parse_sentinel(config.redis.url).password == "p@ss;word"
    assert config.redis.sentinel_password == "s3cret" and "s3cret" not in repr(config.redis)
    assert redacted(config.redis.url) == ";".join(f"sentinel://:***@{host}/2" for host in ("h1:26379", "h2:26380", "h3:26379"))
    assert "p%40ss" not in redacted("sentinel://user:p%40ss@h1:1;sentinel://user:p%40ss@h2:2/0")
    with pytest.raises(ConfigError, match="LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE"):
        load_config({"LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE": str(tmp_path / "missing")})


def test_connect_builds_a_bounded_sentinel_master_client(tmp_path):
    (tmp_path / "sentinels").write_text("s3cret")
    config = load_config(
        {
            "LLMJOBS_REDIS_URL": "sentinel://:pw@h1:1;sentinel://h2:2/3",
            "LLMJOBS_REDIS_SENTINEL_MASTER": "jobs",
            "LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE": str(tmp_path / "sentinels"),
        }
    )
    pool = connect(config.redis, connect_timeout_s=0.5).connection_pool
    assert isinstance(pool, BlockingSentinelConnectionPool) and pool.is_master and pool.service_name == "jobs"
    assert pool.max_connections == MAX_CONNECTIONS and pool.timeout == 10  # bounded: a burst waits for a connection
    kwargs = pool.connection_kwargs
    assert (kwargs["db"], kwargs["password"], kwargs["decode_responses"], kwargs["socket_connect_timeout"]) == (3, "pw", True, 0.5)
    assert pool.connection_class is SentinelManagedConnection
    sentinels = pool.sentinel_manager.sentinels
    assert [(s.connection_pool.connection_kwargs["port"], s.connection_pool.connection_kwargs["password"]) for s in sentinels] == [
        (1, "s3cret"),
        (2, "s3cret"),
    ]


def test_celery_gets_the_sentinels_and_the_master_name(tmp_path):
    (tmp_path / "sentinels").write_text("s3cret")
    env = {"LLMJOBS_REDIS_URL": "sentinel://:pw@h1:1;sentinel://h2:2/3", "LLMJOBS_REDIS_SENTINEL_MASTER": "jobs"}
    conf = make_celery(load_config({**env, "LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE": str(tmp_path / "sentinels")})).conf
    assert conf.broker_url == "sentinel://:pw@h1:1/3;sentinel://:pw@h2:2/3"
    options = conf.broker_transport_options
    assert options["master_name"] == "jobs" and options["sentinel_kwargs"]["password"] == "s3cret"
    assert options["visibility_timeout"] and options["queue_order_strategy"] == "priority"  # the usual options stay
    assert not conf.result_backend  # nothing else of Celery's reaches Redis
    plain = make_celery(load_config({})).conf
    assert plain.broker_url == "redis://127.0.0.1:6379/0" and "master_name" not in plain.broker_transport_options


def test_up_refuses_to_embed_a_redis_in_place_of_sentinels(tmp_path):
    config = load_config({"LLMJOBS_REDIS_URL": f"sentinel://127.0.0.1:{free_port()}/0", "LLMJOBS_RUN_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="LLMJOBS_REDIS_URL names Redis Sentinel.*embeds a Redis only in place of a redis:// URL"):
        embedded_redis_or_none(config)


@pytest.mark.parametrize("url", ["http://bob:secret@h:1/0", "redis//x:secret@h", "sentinel://:secret@h1:26379;sentinel://h2:1/0;junk"])
def test_a_refused_redis_url_is_quoted_without_its_password(url):
    with pytest.raises(ConfigError) as caught:
        load_config({"LLMJOBS_REDIS_URL": url})
    assert "secret" not in str(caught.value) and "***" in str(caught.value)
