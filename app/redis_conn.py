"""Redis connections and key names, shared by API and worker."""

from __future__ import annotations

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool

from app.config import RedisConfig
from app.settings.redis_url import is_sentinel, parse_sentinel

MAX_CONNECTIONS = 64  # per process; hundreds of streaming clients share them


class BlockingSentinelConnectionPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """redis-py's Sentinel pool (it asks the sentinels for the master before each new connection and drops
    connections to a demoted one) with the blocking pool's bounded queue of connections."""

    # SentinelConnectionPool only adds the master lookup to ConnectionPool's methods and leaves taking and
    # giving back connections to its base; in this order BlockingConnectionPool is that base.


def connect(config: RedisConfig, *, connect_timeout_s: float = 2.0, socket_timeout_s: float = 5.0) -> redis.Redis:
    """A pooled client with short timeouts, so a dead Redis gives an error instead of a hang.

    The pool blocks (up to ``timeout``) when all its connections are busy instead of
    failing: a burst of hundreds of clients reading their logs at once queues for a
    moment rather than getting errors, and Redis sees a bounded number of connections.

    With a ``sentinel://`` URL the client is the sentinels' master: each new connection asks them
    where the master is, so after a failover the first command that fails on the dead master
    drops its connection and the next one reaches the new master, without a restart.
    """
    options = {
        "max_connections": MAX_CONNECTIONS,
        "timeout": 10,
        "decode_responses": True,
        "socket_connect_timeout": connect_timeout_s,
        "socket_timeout": socket_timeout_s,
        "health_check_interval": 30,
        "retry_on_timeout": False,
    }
    if not is_sentinel(config.url):
        return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(config.url, **options))
    url = parse_sentinel(config.url)
    sentinel_options = {"socket_connect_timeout": connect_timeout_s, "socket_timeout": socket_timeout_s}
    if config.sentinel_password:
        sentinel_options["password"] = config.sentinel_password
    sentinels = Sentinel(url.hosts, sentinel_kwargs=sentinel_options)
    return sentinels.master_for(
        config.sentinel_master,
        connection_pool_class=BlockingSentinelConnectionPool,
        db=url.db,
        username=url.username,
        password=url.password,
        **options,
    )


class Keys:
    """Every Redis key the core writes, under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def events(self, job_id: str) -> str:
        """A job's event log (a Stream), and the pub/sub channel of its live events."""
        return f"{self.prefix}:events:{job_id}"

    @property
    def cancel_channel(self) -> str:
        """Pub/sub channel on which the API tells workers which job to stop."""
        return f"{self.prefix}:cancel"

    @property
    def queued(self) -> str:
        """Sorted set of queued job ids by submit time: ZRANK gives the queue position."""
        return f"{self.prefix}:queued"

    @property
    def workers(self) -> str:
        """Sorted set of live worker ids, scored by when their heartbeat expires."""
        return f"{self.prefix}:workers"

    @property
    def started(self) -> str:
        """Counter of job starts: how fast the queue drains (Retry-After of a full queue)."""
        return f"{self.prefix}:started"

    def tenant_jobs(self, tenant: str) -> str:
        """Sorted set of a tenant's job ids by submit time: its listing (app/jobs/listing.py)."""
        return f"{self.prefix}:jobs:{tenant}"

    def active(self, tenant: str) -> str:
        """Sorted set of a tenant's queued and running job ids (its cap on active jobs)."""
        return f"{self.prefix}:active:{tenant}"

    @property
    def deadlines(self) -> str:
        """Sorted set of job ids with a deadline, by when it passes."""
        return f"{self.prefix}:deadlines"

    @property
    def leases(self) -> str:
        """Sorted set of running job ids by when their worker's lease on them lapses."""
        return f"{self.prefix}:leases"

    @property
    def restarts(self) -> str:
        """Hash of process name -> times `llmjobs up` restarted it."""
        return f"{self.prefix}:stack:restarts"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"
