"""A TCP proxy that can cut every connection for a while: a network blip between the stack and Redis.

The toxiproxy server is not on PyPI, and a blip needs only this much: forward bytes both ways,
and on :meth:`TcpProxy.blip` reset every open connection and refuse new ones until it ends.
"""

from __future__ import annotations

import asyncio
import threading
import time

from app.cli.embedded_redis import free_port


class TcpProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.target_port, self.port = host, target_port, free_port()
        self._down_until = 0.0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def blip(self, seconds: float) -> None:
        """Reset every connection now and refuse new ones for ``seconds``."""
        self._down_until = time.monotonic() + seconds
        self._loop.call_soon_threadsafe(self._reset_all)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(asyncio.start_server(self._accept, self.host, self.port))
        self._ready.set()
        self._loop.run_forever()

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # an RST, as a dropped network path looks to both ends
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._down_until:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)
        self._writers.difference_update((writer, up_writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort() if writer.transport.is_closing() else writer.close()
