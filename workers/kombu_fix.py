"""One fix to kombu's Redis transport (kombu 5.7 with Celery 5.7), so that a worker outlives losing Redis under load.

Celery handles a broken broker connection by collecting it (``Connection.collect()``, which detaches
its transport) and then closing it, and the task threads go on acknowledging their messages on the old
channel. Both the close (putting unacknowledged messages back) and those late acknowledgements make
the old channel open a new connection pool through its detached transport, where kombu fails with
``AttributeError: 'NoneType' object has no attribute 'hostname'`` (``redis.Channel._connparams``).
Celery takes that for an unrecoverable error and stops the worker: every Redis restart and every
Sentinel failover under load cost a worker (found by tests/integration/test_sentinel.py).

With the fix that channel raises a connection error instead, which Celery already handles: the
consumer reconnects (through the sentinels, to the new master), a late acknowledgement is logged as
failed, and its message, left in kombu's unacked hash, is redelivered after the visibility timeout and
dropped by the job store's atomic claim. Only the state that crashed before behaves differently.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis

_connparams = kombu_redis.Channel._connparams


def _connparams_of_a_live_transport(self: kombu_redis.Channel, asynchronous: bool = False) -> dict[str, Any]:
    if self.connection.client is None:
        raise redis.ConnectionError("this channel's broker connection was already closed after a connection error")
    return _connparams(self, asynchronous)


def apply() -> None:
    """Install the fix (idempotent); the Celery app does it when it is built."""
    kombu_redis.Channel._connparams = _connparams_of_a_live_transport
