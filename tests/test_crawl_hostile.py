"""The crawler against hostile servers and pages (issue 12): slow drips, non-ASCII links, legacy
encodings, DNS rebinding, TLS names; then a property test that keeps link extraction total."""

from __future__ import annotations

import datetime
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from opencorpus.document import normalize_url
from opencorpus.sources.crawl import CrawlConfig, crawl
from opencorpus.sources.crawl import crawler as crawler_module
from opencorpus.sources.crawl.fetch import Fetcher, FetchError
from opencorpus.sources.crawl.html_meta import decode_html, page_meta

Page = tuple[int, dict[str, str], bytes]


class Site:
    """An HTTP server on 127.0.0.1 answering `pages` by request path (404 otherwise); it notes hits and Host headers."""

    def __init__(self, pages: dict[str, Page], tls: ssl.SSLContext | None = None):
        self.hits: list[str] = []
        self.hosts: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits.append(self.path)
                site.hosts.append(self.headers.get("Host", ""))
                status, headers, body = pages.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for k, v in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Site]]:
    sites: list[Site] = []

    def start(pages: dict[str, Page], tls: ssl.SSLContext | None = None) -> Site:
        sites.append(Site(pages, tls))
        return sites[-1]

    yield start
    for site in sites:
        site.close()


def config(seed: str, out: Path, **kw) -> CrawlConfig:
    return CrawlConfig(seeds=[seed], out=str(out), delay=0.0, timeout=1.0, max_bytes=1_000_000, **{"allow_private": True, **kw})


def log_lines(out: Path) -> dict[str, dict]:
    lines = [json.loads(line) for path in sorted((out / "logs").iterdir()) for line in path.read_text().splitlines()]
    return {line["url"]: line for line in lines}


def warc_records(out: Path) -> list:
    records = []
    for path in sorted((out / "warc").iterdir()):
        with open(path, "rb") as f:
            for record in ArchiveIterator(f):
                record.body = record.content_stream().read()
                records.append(record)
    return records


# -- the deadline bounds the whole fetch ----------------------------------------------------------

DRIP_SECONDS = 6.0  # how long a hostile server keeps going: far beyond the 1 s timeout under test


def _drip(conn: socket.socket, head: bytes, byte: bytes) -> None:
    conn.sendall(head)
    end = time.monotonic() + DRIP_SECONDS
    while time.monotonic() < end:
        time.sleep(0.2)
        conn.sendall(byte)


def _silent(conn: socket.socket) -> None:
    conn.settimeout(DRIP_SECONDS)
    try:
        conn.recv(1)  # returns when the client gives up (or the test server's patience ends)
    except TimeoutError:
        pass


HOSTILE: dict[str, Callable[[socket.socket], None]] = {
    # 200, no Content-Length, one body byte at a time: each read waits less than any read timeout
    "/drip-body": lambda conn: _drip(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>", b"x"),
    # the same, in the middle of a header line
    "/drip-headers": lambda conn: _drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ", b"x"),
    # accepts the connection, reads the request, never answers
    "/silent": _silent,
}


class HostileHandler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        path = head.split(b" ", 2)[1].decode("ascii")
        try:
            HOSTILE.get(path, lambda conn: conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))(self.request)
        except OSError:  # the client hung up: what a timeout looks like from here
            pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), HostileHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", sorted(HOSTILE))
def test_the_timeout_bounds_the_whole_fetch(hostile, tmp_path, path):
    started = time.monotonic()
    report = crawl(config(hostile + path, tmp_path))
    assert time.monotonic() - started < 3.5  # robots.txt and tdmrep.json answer at once; the page gets 1 s
    assert report.skipped == {"timeout": 1} and report.fetched == 0
    assert log_lines(tmp_path)[hostile + path]["reason"] == "timeout"


def test_a_fetch_times_out_on_its_own_too(hostile):
    fetcher = Fetcher("test", timeout=0.5, max_bytes=1_000_000, allow_private=True)
    for path in HOSTILE:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timeout"):
            fetcher.get(hostile + path)
        assert time.monotonic() - started < 1.5


# -- non-ASCII links and page encodings -----------------------------------------------------------

def test_non_ascii_links_are_fetched_and_archived_as_uris(serve, tmp_path):
    site = serve({
        "/": (200, {}, '<a href="/café?q=ü#top">c</a> <a href="/naïve/">n</a>'.encode()),
        "/caf%C3%A9?q=%C3%BC": (200, {}, b"cafe"),
    })
    report = crawl(config(site.url + "/", tmp_path))
    assert report.fetched == 3 and report.skipped == {}
    assert site.hits == ["/robots.txt", "/.well-known/tdmrep.json", "/", "/caf%C3%A9?q=%C3%BC", "/na%C3%AFve/"]
    logged = log_lines(tmp_path)
    assert logged[site.url + "/"]["links"] == [site.url + "/caf%C3%A9?q=%C3%BC", site.url + "/na%C3%AFve/"]
    assert {line["reason"] for line in logged.values()} == {"fetched"}
    records = warc_records(tmp_path)
    responses = {r.rec_headers.get_header("WARC-Record-ID"): r for r in records if r.rec_type == "response"}
    requests = [r for r in records if r.rec_type == "request"]
    # every response has its request, written with it, naming the same URI
    assert sorted(r.rec_headers.get_header("WARC-Concurrent-To") for r in requests) == sorted(responses)
    for request in requests:
        response = responses[request.rec_headers.get_header("WARC-Concurrent-To")]
        assert request.rec_headers.get_header("WARC-Target-URI") == response.rec_headers.get_header("WARC-Target-URI")
    cafe = next(r for r in requests if "caf" in r.rec_headers.get_header("WARC-Target-URI"))
    assert cafe.http_headers.to_str().startswith("GET /caf%C3%A9?q=%C3%BC HTTP/1.1\r\n")
    assert responses[cafe.rec_headers.get_header("WARC-Concurrent-To")].body == b"cafe"


def test_a_resumed_crawl_gets_past_a_non_ascii_link_of_an_earlier_session(serve, tmp_path):
    """Sessions before the fix logged the raw link, then crashed on it, again on every rerun."""
    site = serve({"/caf%C3%A9": (200, {}, b"cafe")})
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "crawl-00000.jsonl").write_text(json.dumps({
        "url": site.url + "/", "depth": 0, "via": None, "hops": 0, "status": 200, "reason": "fetched",
        "links": [site.url + "/café", "http://[broken/"], "skipped_links": {}}) + "\n")
    report = crawl(config(site.url + "/", tmp_path))
    assert report.resumed == 1 and report.fetched == 1
    assert site.hits[-1] == "/caf%C3%A9"
    assert log_lines(tmp_path)[site.url + "/caf%C3%A9"]["reason"] == "fetched"


def test_a_failure_on_one_url_is_logged_and_the_crawl_goes_on(serve, tmp_path, monkeypatch):
    site = serve({"/": (200, {}, b'<a href="/bad">b</a> <a href="/good">g</a>'),
                  "/bad": (200, {}, b"bad"), "/good": (200, {}, b"good")})
    real = crawler_module.page_meta

    def failing(html: str, url: str, token: str):
        if url.endswith("/bad"):
            raise RuntimeError("a bug this page found")
        return real(html, url, token)

    monkeypatch.setattr(crawler_module, "page_meta", failing)
    report = crawl(config(site.url + "/", tmp_path))
    assert report.fetched == 2 and report.skipped == {"error:RuntimeError": 1}
    logged = log_lines(tmp_path)
    assert logged[site.url + "/bad"]["reason"] == "error:RuntimeError"
    assert logged[site.url + "/good"]["reason"] == "fetched"
    archived = [r.rec_headers.get_header("WARC-Target-URI") for r in warc_records(tmp_path) if r.rec_type == "response"]
    assert site.url + "/bad" not in archived and site.url + "/good" in archived


CAFE = '<a href="/café">c</a>'


@pytest.mark.parametrize(("body", "content_type"), [
    pytest.param(CAFE.encode("latin-1"), "text/html; charset=ISO-8859-1", id="http-latin-1"),
    pytest.param(CAFE.encode("cp1252"), 'text/html; charset="windows-1252"', id="http-quoted"),
    pytest.param(('<meta charset="windows-1252">' + CAFE).encode("cp1252"), "text/html", id="meta-charset"),
    pytest.param(('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">' + CAFE).encode("latin-1"),
                 "text/html", id="meta-http-equiv"),
    pytest.param(CAFE.encode("latin-1"), "text/html", id="no-label-not-utf8"),  # windows-1252
    pytest.param(CAFE.encode("utf-8"), "text/html", id="no-label-utf8"),
    pytest.param(CAFE.encode("utf-16"), "text/html", id="utf16-bom"),
    pytest.param(CAFE.encode("utf-16-be"), "text/html; charset=utf-16be", id="http-utf16be"),
    pytest.param(CAFE.encode("utf-16-le"), "text/html; charset=utf-16", id="http-utf16-is-le"),
    pytest.param(b"\xef\xbb\xbf" + CAFE.encode("utf-8"), "text/html; charset=iso-8859-1", id="bom-wins"),
    pytest.param(('<meta charset="utf-16">' + CAFE).encode("utf-8"), "text/html", id="meta-utf16-is-utf8"),
    pytest.param(CAFE.encode("utf-8"), "text/html; charset=base64", id="not-a-text-codec"),
    pytest.param(CAFE.encode("utf-8"), "text/html; charset=unicode_escape", id="not-a-page-encoding"),
    pytest.param(CAFE.encode("utf-8"), "text/html; charset=idna", id="refuses-replace"),
    pytest.param(CAFE.encode("utf-8"), "text/html; charset=no-such-charset", id="unknown-label"),
])
def test_links_are_read_in_the_page_encoding(body, content_type):
    assert page_meta(decode_html(body, content_type), "http://h/", "opencorpus").links == ["http://h/caf%C3%A9"]


def test_a_latin1_page_is_crawled_with_its_links_right(serve, tmp_path):
    site = serve({"/": (200, {"Content-Type": "text/html; charset=iso-8859-1"}, CAFE.encode("latin-1")),
                  "/caf%C3%A9": (200, {}, b"cafe")})
    report = crawl(config(site.url + "/", tmp_path))
    assert report.fetched == 2 and site.hits[-1] == "/caf%C3%A9"


def test_redirects_to_non_ascii_locations(serve, tmp_path):
    site = serve({"/": (302, {"Location": "/café"}, b"")})  # http.server sends the header as Latin-1
    crawl(config(site.url + "/", tmp_path))
    assert log_lines(tmp_path)[site.url + "/"]["location"] == site.url + "/caf%E9"  # the byte as sent


# -- the connection goes to the address that was checked ------------------------------------------

PUBLIC = "93.184.216.34"


def fake_dns(monkeypatch, answer: Callable[[str, int], str | None]) -> None:
    """socket.getaddrinfo answering `answer(host, lookup number)` for names it knows (None: the real DNS)."""
    real = socket.getaddrinfo
    lookups: dict[str, int] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        lookups[host] = lookups.get(host, 0) + 1
        ip = answer(host, lookups[host])
        if ip is None:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_dns_rebinding_cannot_reach_a_private_address(serve, tmp_path, monkeypatch):
    site = serve({"/": (200, {}, b"inside")})
    # public when the crawler checks, loopback for every later lookup (a rebinding attacker's DNS)
    fake_dns(monkeypatch, lambda host, n: (PUBLIC if n == 1 else "127.0.0.1") if host == "rebind.test" else None)
    attempts: list[tuple[str, int]] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if address[0] == "127.0.0.1":
            return real_connect(sock, address)
        attempts.append(address)
        raise ConnectionRefusedError("no network in tests")

    monkeypatch.setattr(socket.socket, "connect", connect)
    report = crawl(config(f"http://rebind.test:{site.port}/", tmp_path, allow_private=False))
    assert site.hits == []
    assert attempts == [(PUBLIC, site.port)]  # the checked address, and no other
    assert report.fetched == 0 and report.skipped == {"private-address": 1}


def test_a_pinned_connection_keeps_the_host_name(serve, monkeypatch):
    site = serve({"/": (200, {}, b"ok")})
    fake_dns(monkeypatch, lambda host, n: "127.0.0.1" if host == "pinned.test" else None)
    response = Fetcher("test", timeout=2.0, max_bytes=1000, allow_private=True).get(f"http://pinned.test:{site.port}/")
    assert response.body == b"ok" and site.hosts == [f"pinned.test:{site.port}"]
    assert ("Host", f"pinned.test:{site.port}") in response.request_headers


def _certificates(folder: Path, name: str) -> tuple[Path, Path]:
    """A test CA (its PEM) and a key + certificate for `name` signed by it (one PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def issue(subject: str, key, issuer: str, issuer_key, ca: bool):
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("test CA", ca_key, "test CA", ca_key, ca=True)
    leaf = issue(name, key, "test CA", ca_key, ca=False)
    ca_pem, leaf_pem = folder / "ca.pem", folder / "leaf.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()) + leaf.public_bytes(serialization.Encoding.PEM))
    return ca_pem, leaf_pem


def test_tls_to_a_pinned_address_checks_the_host_name(serve, tmp_path, monkeypatch):
    ca_pem, leaf_pem = _certificates(tmp_path, "pinned.test")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(leaf_pem)
    names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, context: names.append(name)
    site = serve({"/": (200, {}, b"secure")}, tls=server_tls)
    fake_dns(monkeypatch, lambda host, n: "127.0.0.1" if host in ("pinned.test", "other.test") else None)
    fetcher = Fetcher("test", timeout=2.0, max_bytes=1000, allow_private=True,
                      tls=ssl.create_default_context(cafile=str(ca_pem)))
    assert fetcher.get(f"https://pinned.test:{site.port}/").body == b"secure"
    assert names == ["pinned.test"] and site.hosts == [f"pinned.test:{site.port}"]
    with pytest.raises(FetchError, match="SSLCertVerificationError"):  # same address, a name the certificate lacks
        fetcher.get(f"https://other.test:{site.port}/")
    assert len(site.hits) == 1


# -- properties -----------------------------------------------------------------------------------

CHARSETS = st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "utf-16", "utf-16be", "shift_jis", "euc-jp",
                            "gb18030", "koi8-r", "utf-7", "cp037", "base64", "rot13", "idna", "punycode",
                            "undefined", "unicode_escape", "x-user-defined", ""]) | st.text(max_size=12)
HREFS = st.text(max_size=24) | st.sampled_from(["/café", "//ｅｘａｍｐｌｅ.com/x", "http://[::1/", "?q=ü", "%", "http://a:b/",
                                             "HTTP://Ex.COM:80/./a/../b", "http://☃.net/", "\\\\x", "http://a b/"])


@st.composite
def pages(draw) -> tuple[bytes, str]:
    charset = draw(CHARSETS)
    if draw(st.booleans()):
        return draw(st.binary(max_size=300)), f"text/html; charset={charset}"
    links = "".join(f'<a href="{href}">x</a>' for href in draw(st.lists(HREFS, max_size=4)))
    base = f'<base href="{draw(HREFS)}">' if draw(st.booleans()) else ""
    html = f'<meta charset="{charset}">{base}{links}'
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "shift_jis"]))
    return html.encode(encoding, errors="replace"), draw(st.sampled_from(["text/html", f"text/html; charset={charset}"]))


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(pages())
def test_link_extraction_is_total_and_its_links_normalized(page):
    # normalize_url itself (ASCII, idempotent, only ValueError) is property-tested in test_url_hash_properties.py.
    body, content_type = page
    for link in page_meta(decode_html(body, content_type), "http://example.test/dir/page", "opencorpus").links:
        assert link.isascii() and link.startswith(("http://", "https://"))
        assert normalize_url(link) == link
