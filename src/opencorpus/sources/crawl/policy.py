"""What the crawler may fetch and keep: scope, network addresses, robots.txt, TDM reservations.

Each check answers None (go ahead) or a short reason that goes into the crawl log.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.robotparser
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Scope:
    """Which URLs belong to the crawl: the seeds' hosts (default), path prefixes, patterns."""

    hosts: set[str]
    prefixes: list[str] = field(default_factory=list)
    include: list[re.Pattern] = field(default_factory=list)
    exclude: list[re.Pattern] = field(default_factory=list)

    def reason_out(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.netloc not in self.hosts:
            return "out-of-scope:host"
        if self.prefixes and not any(url.startswith(p) for p in self.prefixes):
            return "out-of-scope:prefix"
        if self.include and not any(p.search(url) for p in self.include):
            return "out-of-scope:include"
        if any(p.search(url) for p in self.exclude):
            return "out-of-scope:exclude"
        return None


def address_refusal(addresses: Iterable[str], allow_private: bool) -> str | None:
    """'private-address' when any of a host's addresses is private, loopback, link-local or reserved.

    The fetcher resolves a name once, asks this about every address, and connects only to those:
    a public name pointing inside is refused, and so is one that changes its answer in between.
    """
    if allow_private:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) is no part of it
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
            return "private-address"
    return None


class Robots:
    """robots.txt of one origin (RFC 9309): 4xx allows everything, 5xx or no answer disallows everything."""

    def __init__(self, status: int | None, body: bytes, token: str):
        self.token = token
        self.parser = urllib.robotparser.RobotFileParser()
        if status is not None and 200 <= status < 300:
            self.parser.parse(body.decode("utf-8", errors="replace").splitlines())
        elif status is not None and 400 <= status < 500:
            # RobotFileParser.read() sets these flags the same way; typeshed's stub omits them.
            self.parser.allow_all = True  # type: ignore[attr-defined]
        else:
            self.parser.disallow_all = True  # type: ignore[attr-defined]

    def allowed(self, url: str) -> bool:
        return self.parser.can_fetch(self.token, url)

    def crawl_delay(self) -> float | None:
        delay = self.parser.crawl_delay(self.token)
        return float(delay) if delay is not None else None


class TdmRep:
    """The TDM Reservation Protocol's /.well-known/tdmrep.json of one origin (absent: no reservation)."""

    def __init__(self, status: int | None, body: bytes):
        self.rules: list[tuple[re.Pattern, bool]] = []
        if status != 200:
            return
        try:
            entries = json.loads(body)
        except ValueError:
            return
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("location"), str):
                reserved = str(entry.get("tdm-reservation", 0)) == "1"
                self.rules.append((_location_pattern(entry["location"]), reserved))

    def reserved(self, path: str) -> bool:
        """The first rule whose location matches decides, as in the protocol."""
        for pattern, reserved in self.rules:
            if pattern.match(path):
                return reserved
        return False


def _location_pattern(location: str) -> re.Pattern:
    """robots.txt-style path pattern: '*' any run, trailing '$' end of path."""
    anchored = location.endswith("$")
    body = location[:-1] if anchored else location
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


def header_reservation(headers: dict[str, str], token: str) -> str | None:
    """'tdm-reserved' or 'noai' from response headers (X-Robots-Tag may name our token)."""
    if headers.get("tdm-reservation", "").strip() == "1":
        return "tdm-reserved"
    for value in headers.get("x-robots-tag", "").split(","):
        scope, _, directive = value.strip().lower().rpartition(":")
        if directive.strip() == "noai" and scope.strip() in ("", token.lower()):
            return "noai"
    return None

