"""One HTTP GET with hard limits: connect/read timeouts, a total deadline, a size cap, no redirects
followed (the crawler queues the target, so every hop is checked and archived)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests


class FetchError(Exception):
    """A fetch that produced no usable response; `reason` goes into the crawl log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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


class Fetcher:
    def __init__(self, user_agent: str, timeout: float, max_bytes: int):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment: the address checks must hold
        # identity: archive the bytes exactly as sent, with no content coding to undo later.
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity",
                                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"})

    def get(self, url: str) -> Response:
        deadline = time.monotonic() + self.timeout
        try:
            with self.session.get(url, stream=True, allow_redirects=False,
                                  timeout=(min(10.0, self.timeout), self.timeout)) as r:
                declared = r.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError("too-large")
                body = bytearray()
                for chunk in r.raw.stream(64 * 1024, decode_content=False):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError("too-large")
                    if time.monotonic() > deadline:
                        raise FetchError("timeout")
                return Response(
                    url=url, status=r.status_code, reason=r.reason or "",
                    headers=list(r.raw.headers.items()), body=bytes(body),
                    request_headers=list(r.request.headers.items()),
                )
        except requests.Timeout:
            raise FetchError("timeout") from None
        except requests.RequestException as e:
            raise FetchError(f"network-error:{type(e).__name__}") from None
