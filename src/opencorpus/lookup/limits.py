"""What one client can cost the lookup server: body bytes, and seconds to send headers and body.

uvicorn bounds the bytes of a request line and headers (h11's 16 KiB incomplete-event limit)
and how long an idle keep-alive connection stays open, but not how long a client may take to
finish its headers: one that sends "GET / HT" and then nothing, or one byte a second, holds a
connection and its file descriptor for ever (slowloris). `HeaderDeadline` closes it, and
`BodyLimit` bounds the body in bytes (413) and in time (408) as it arrives.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import h11
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class Limits:
    body_bytes: int = 1 << 20  # a full batch of 1,000 hashes is 68 KB
    body_seconds: float = 10.0
    header_seconds: float = 10.0
    # Requests beyond this many open connections or running requests are answered 503 at once.
    concurrency: int = 100


DEFAULTS = Limits()


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, 408 for one not received in `seconds`.

    Content-Length is checked before any byte is read; a chunked body is counted as it
    arrives and refused at the first chunk past the limit, so at most `max_bytes` plus one
    chunk is ever held. The app then reads the body from here, already complete.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, seconds: float):
        self.app, self.max_bytes, self.seconds = app, max_bytes, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body over {self.max_bytes} bytes"
        if _content_length(scope) > self.max_bytes:
            await _refuse(send, 413, too_large)
            return
        try:
            async with asyncio.timeout(self.seconds):
                body = await self._read(receive)
        except TimeoutError:
            await _refuse(send, 408, f"request body not received in {self.seconds:g} s")
        except _TooLarge:
            await _refuse(send, 413, too_large)
        else:
            if body is not None:
                await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, None if the client left first; _TooLarge past `max_bytes`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _TooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int:
    """The declared body size, 0 when absent or unreadable (h11 refuses a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the body read already, then waits for the client as before."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(send: Send, status: int, message: str) -> None:
    """A JSON error; `connection: close` because the rest of the body is never read."""
    body = json.dumps({"detail": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request line and headers, counted from
    the connection or from the first byte after the previous response; a client that misses
    it is disconnected. Bytes that arrive in time do not extend it."""

    header_seconds = DEFAULTS.header_seconds
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # still no complete request line and headers
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def server_config(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
                  limits: Limits = DEFAULTS) -> uvicorn.Config:
    """The uvicorn configuration `opencorpus serve` runs `app` with (and the tests too)."""
    # uvicorn builds the protocol itself from a class, so the deadline travels as a class attribute.
    protocol = type("HeaderDeadline", (HeaderDeadline,), {"header_seconds": limits.header_seconds})
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=protocol,
                          limit_concurrency=limits.concurrency, timeout_keep_alive=5)
