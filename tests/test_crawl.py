"""The crawler against a real HTTP server on 127.0.0.1: politeness, TDM, scope, limits, WARC, resume."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from opencorpus.cli import main
from opencorpus.sources.crawl import CrawlConfig, crawl
from opencorpus.sources.crawl.html_meta import page_meta
from opencorpus.sources.crawl.policy import Robots, TdmRep, header_reservation

ROBOTS = b"""User-agent: *
Disallow: /only-others/

User-agent: opencorpus
Disallow: /private/
Crawl-delay: 0
"""


def html(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


PAGES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/robots.txt": (200, {"Content-Type": "text/plain"}, ROBOTS),
    "/.well-known/tdmrep.json": (200, {"Content-Type": "application/json"},
                                 b'[{"location": "/reserved/*", "tdm-reservation": 1}]'),
    "/": (200, {}, html(
        '<a href="/a.html">a</a> <a href="b.html#top">b</a> <a href="/private/secret.html">p</a>'
        '<a href="/reserved/x.html">r</a> <a href="/tdm-meta.html">t</a> <a href="/noai-header.html">n</a>'
        '<a href="/noai-meta.html">m</a> <a href="/loop-1">l</a> <a href="/moved">mv</a>'
        '<a href="/missing.html">404</a> <a href="/big.html">big</a> <a href="/binary.html">bin</a>'
        '<a href="/slow.html">slow</a> <a href="http://elsewhere.invalid/x">out</a> <a href="mailto:x@y">m</a>'
        '<a href="/only-others/page.html">o</a> <a href="/broken.html">broken</a>')),
    "/a.html": (200, {}, html('<a href="/b.html">b</a><a href="/a.html?x=1">q</a>')),
    "/a.html?x=1": (200, {}, html("query page")),
    "/b.html": (200, {}, html('<a href="/">home</a>')),
    "/tdm-meta.html": (200, {}, html("reserved", '<meta name="tdm-reservation" content="1">')),
    "/noai-header.html": (200, {"X-Robots-Tag": "opencorpus: noai"}, html("no ai")),
    "/noai-meta.html": (200, {}, html("no ai", '<meta name="robots" content="noai, noimageai">')),
    "/loop-1": (302, {"Location": "/loop-2"}, b""),
    "/loop-2": (302, {"Location": "/loop-1"}, b""),
    "/moved": (301, {"Location": "/b.html"}, b""),
    "/big.html": (200, {}, html("x" * 2_000_000)),
    "/binary.html": (200, {}, bytes(range(256)) * 40),
    "/only-others/page.html": (200, {}, html("for us")),
    "/broken.html": (200, {}, b"<html><a href='/a.html'>unclosed <div><<<>>> <a href=\"/b.html"),
}
ARCHIVED = {"/", "/a.html", "/a.html?x=1", "/b.html", "/loop-1", "/loop-2", "/moved", "/missing.html",
            "/binary.html", "/only-others/page.html", "/broken.html"}


class Site:
    def __init__(self):
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits[self.path] += 1
                if self.path == "/slow.html":
                    time.sleep(3)
                status, headers, body = PAGES.get(self.path, (404, {}, html("not found")))
                self.send_response(status)
                headers = {"Content-Type": "text/html; charset=utf-8", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.shutdown()


def config(site: Site, out: Path, **kw) -> CrawlConfig:
    return CrawlConfig(seeds=[site.url + "/"], out=str(out), delay=0.0, timeout=1.0, max_bytes=1_000_000,
                       allow_private=True, **kw)


def responses(folder: Path) -> dict[str, bytes]:
    found = {}
    for warc in sorted((folder / "warc").iterdir()):
        with open(warc, "rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type == "response":
                    found[record.rec_headers.get_header("WARC-Target-URI")] = record.content_stream().read()
    return found


def test_every_reachable_page_once_and_policies_obeyed(site, tmp_path):
    report = crawl(config(site, tmp_path))
    archived = responses(tmp_path)
    assert {u[len(site.url):] for u in archived} == ARCHIVED
    assert archived[site.url + "/a.html"] == PAGES["/a.html"][2]
    assert all(site.hits[p] == 1 for p in ARCHIVED | {"/robots.txt", "/.well-known/tdmrep.json"})
    assert site.hits["/private/secret.html"] == 0 and site.hits["/reserved/x.html"] == 0
    assert report.skipped == {"robots-disallowed": 1, "tdm-reserved": 2, "noai": 2, "too-large": 1,
                              "timeout": 1, "out-of-scope:host": 1}


def test_warc_has_request_response_and_metadata_records(site, tmp_path):
    crawl(config(site, tmp_path, max_pages=1))
    [warc] = (tmp_path / "warc").iterdir()
    with open(warc, "rb") as f:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
                   for r in ArchiveIterator(f)]
    assert [t for t, _, _ in records] == ["warcinfo", "response", "request", "metadata"]
    assert records[1][2] == PAGES["/"][2]
    assert f"outlink: {site.url}/a.html".encode() in records[3][2]


def test_private_addresses_are_refused_by_default(site, tmp_path):
    report = crawl(CrawlConfig(seeds=[site.url + "/"], out=str(tmp_path), delay=0.0))
    assert report.fetched == 0 and report.skipped == {"private-address": 1}
    assert sum(site.hits.values()) == 0


def test_resume_after_a_stop_fetches_nothing_twice(site, tmp_path):
    first = crawl(config(site, tmp_path, max_pages=3))
    assert first.fetched == 3
    second = crawl(config(site, tmp_path))
    assert second.resumed == 3 and second.warc.endswith("crawl-00001.warc.gz")
    assert all(n == 1 for path, n in site.hits.items() if path not in ("/robots.txt", "/.well-known/tdmrep.json"))
    assert {u[len(site.url):] for u in responses(tmp_path)} == ARCHIVED


def test_cli(site, tmp_path, capsys):
    assert main(["crawl", site.url + "/", "--out", str(tmp_path), "--allow-private", "--delay", "0",
                 "--timeout", "1", "--max-bytes", "1MB", "--max-pages", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("fetched 2 ") and out[-1].endswith("warc/crawl-00000.warc.gz")
    assert main(["crawl", "not a url", "--out", str(tmp_path)]) == 2


def test_robots_status_rules():
    assert Robots(404, b"", "opencorpus").allowed("http://h/x")
    assert not Robots(503, b"", "opencorpus").allowed("http://h/x")
    assert not Robots(None, b"", "opencorpus").allowed("http://h/x")
    garbage = Robots(200, b"\x00\xff<html>not robots</html>\nDisallow /x", "opencorpus")
    assert garbage.allowed("http://h/x")
    slow = Robots(200, b"User-agent: opencorpus\nCrawl-delay: 7\n", "opencorpus")
    assert slow.crawl_delay() == 7.0


def test_tdm_rules_and_headers():
    rep = TdmRep(200, b'[{"location": "/free/*", "tdm-reservation": 0}, {"location": "/*.pdf$", "tdm-reservation": 1},'
                      b' {"location": "/", "tdm-reservation": 1}]')
    assert not rep.reserved("/free/page.html") and rep.reserved("/doc.pdf") and rep.reserved("/other")
    assert not TdmRep(200, b"not json").reserved("/x") and not TdmRep(404, b"").reserved("/x")
    assert header_reservation({"tdm-reservation": "1"}, "opencorpus") == "tdm-reserved"
    assert header_reservation({"x-robots-tag": "otherbot: noai"}, "opencorpus") is None
    assert header_reservation({"x-robots-tag": "noindex, noai"}, "opencorpus") == "noai"


def test_page_meta_links():
    meta = page_meta('<base href="http://h/dir/"><a href="x.html#f">x</a><a href="/y">y</a><a href="x.html">dup</a>'
                     '<a href="javascript:void(0)">js</a><meta name="ROBOTS" content="NoFollow">', "http://h/page", "opencorpus")
    assert meta.links == ["http://h/dir/x.html", "http://h/y"] and meta.robots == {"nofollow"}
