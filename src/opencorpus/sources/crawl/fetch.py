"""One HTTP GET with hard limits: a total deadline, a size cap, no redirects followed (the crawler
queues the target, so every hop is checked and archived), and only to an address that was checked.

The name is resolved once, every address it has is checked (`policy.address_refusal`), and the
socket connects to one of exactly those addresses: a DNS answer that changes between the check and
the connection (rebinding) cannot lead inside. The Host header, TLS SNI and the certificate check
still use the name. The deadline bounds everything after DNS: connect, TLS handshake, headers and
body, even when a server sends one byte at a time.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import SplitResult, urlsplit

import certifi

from opencorpus.sources.crawl.policy import address_refusal

DEFAULT_PORTS = {"http": 80, "https": 443}
# read1 returns whatever has arrived (at most this much), so a slow drip meets the deadline check
# byte by byte instead of blocking until a large chunk is full.
READ_BYTES = 64 * 1024


class FetchError(Exception):
    """A fetch that produced no usable response; `reason` goes into the crawl log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Refused(FetchError):
    """The address check said no (a private address, no DNS answer): nothing was sent."""


@dataclass
class Response:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    request_headers: list[tuple[str, str]]

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")

    def header_map(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for k, v in self.headers:
            key = k.lower()
            merged[key] = f"{merged[key]}, {v}" if key in merged else v
        return merged


@dataclass(frozen=True)
class _Target:
    url: str
    parts: SplitResult
    host: str  # the name: for SNI and the certificate check, whichever address is connected
    port: int


class Fetcher:
    def __init__(self, user_agent: str, timeout: float, max_bytes: int, allow_private: bool = False,
                 tls: ssl.SSLContext | None = None):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.tls = tls or ssl.create_default_context(cafile=certifi.where())
        # identity: archive the bytes exactly as sent, with no content coding to undo later.
        self.headers = [("User-Agent", user_agent), ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"),
                        ("Accept-Encoding", "identity"), ("Connection", "close")]

    def get(self, url: str) -> Response:
        """GET an ASCII http(s) URL (see document.normalize_url); FetchError for anything but a response."""
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except (ValueError, KeyError):
            raise FetchError("bad-url") from None
        if not url.isascii() or not parts.hostname:
            raise FetchError("bad-url")
        addresses = self._resolve(parts.hostname, port)
        with _Deadline(self.timeout) as deadline:
            try:
                return self._get(_Target(url, parts, parts.hostname, port), addresses, deadline)
            except (OSError, http.client.HTTPException, ValueError) as e:
                # after the watchdog's shutdown a read fails or ends early: either way it is the deadline
                if deadline.passed() or isinstance(e, TimeoutError):
                    raise FetchError("timeout") from None
                raise FetchError(f"network-error:{type(e).__name__}") from None

    def _resolve(self, host: str, port: int) -> list[tuple[socket.AddressFamily, Any]]:
        """Every address of the name, each checked: the connection goes to one of these and nowhere else."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise Refused("dns-failure") from None
        refused = address_refusal([str(info[4][0]) for info in infos], self.allow_private)
        if refused or not infos:
            raise Refused(refused or "dns-failure")
        return [(info[0], info[4]) for info in infos]

    def _get(self, target: _Target, addresses: list[tuple[socket.AddressFamily, Any]], deadline: _Deadline) -> Response:
        sock = _connect(addresses, deadline)
        try:
            if target.parts.scheme == "https":
                sock = self.tls.wrap_socket(sock, server_hostname=target.host)
            return self._exchange(target, sock, deadline)
        finally:
            sock.close()

    def _exchange(self, target: _Target, sock: socket.socket, deadline: _Deadline) -> Response:
        """Send the request on the connected socket and read the answer within the size cap and the deadline."""
        connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = sock  # already connected to a checked address: http.client must not resolve again
        parts = target.parts
        request_headers = [("Host", parts.netloc.rpartition("@")[2]), *self.headers]
        connection.putrequest("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                              skip_host=True, skip_accept_encoding=True)
        for name, value in request_headers:
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        declared = answer.getheader("Content-Length", "")
        if declared.isdecimal() and int(declared) > self.max_bytes:
            raise FetchError("too-large")
        body = bytearray()
        while chunk := answer.read1(READ_BYTES):
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchError("too-large")
            deadline.left()
        if deadline.passed():  # the watchdog's shutdown reads as an end of body: this is a cut, not an end
            raise FetchError("timeout")
        if answer.length:  # fewer bytes than Content-Length promised
            raise http.client.IncompleteRead(bytes(body), answer.length)
        return Response(url=target.url, status=answer.status, reason=answer.reason or "", headers=answer.getheaders(),
                        body=bytes(body), request_headers=request_headers)


def _connect(addresses: list[tuple[socket.AddressFamily, Any]], deadline: _Deadline) -> socket.socket:
    """A socket connected to the first checked address that answers (as socket.create_connection tries them)."""
    error: OSError = ConnectionError("no address")
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        deadline.watch(sock)
        try:
            sock.settimeout(deadline.left())  # no single wait longer than the whole fetch may take
            sock.connect(address)
            return sock
        except OSError as e:
            sock.close()
            error = e
    raise error


class _Deadline:
    """The total time one fetch may take. A socket timeout bounds each wait, not their sum, and a
    server can send a byte just before each one expires; so at the deadline a watchdog shuts the
    connection down, which wakes whatever connect, handshake or read is blocked on it."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._expired = False
        self._guards: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._timer.cancel()
        with self._lock:
            for guard in self._guards:
                guard.close()
            self._guards.clear()

    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def left(self) -> float:
        """Seconds left; FetchError('timeout') when there are none."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise FetchError("timeout")
        return left

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same connection: TLS wrapping detaches the original socket
        # object, the duplicate still reaches the connection underneath.
        guard = sock.dup()
        with self._lock:
            self._guards.append(guard)
            if self._expired:
                _shut(guard)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for guard in self._guards:
                _shut(guard)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # not connected (yet, or any more): nothing is waiting on it
        pass
