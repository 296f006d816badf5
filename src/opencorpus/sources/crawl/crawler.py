"""The crawl loop: a breadth-first frontier per host, politeness delays, WARC records, a crawl log.

Resumable: every URL the crawl has dealt with is a line in a log file, written after its WARC
records; a new session reads the logs, rebuilds the seen-set and the frontier from them, and
writes its own numbered WARC and log files, so nothing already archived is fetched again.
"""

from __future__ import annotations

import heapq
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from opencorpus import __version__, storage
from opencorpus.document import normalize_url
from opencorpus.sources.crawl.fetch import Fetcher, FetchError, Refused, Response
from opencorpus.sources.crawl.html_meta import PageMeta, decode_html, page_meta
from opencorpus.sources.crawl.policy import Robots, Scope, TdmRep, header_reservation

log = logging.getLogger(__name__)

ROBOTS_TOKEN = "opencorpus"
USER_AGENT = f"opencorpus/{__version__} (corpus crawler; robots token: {ROBOTS_TOKEN})"
HTML_TYPES = ("text/html", "application/xhtml+xml")
PROGRESS_SECONDS = 5.0


@dataclass
class CrawlConfig:
    seeds: list[str]
    out: str
    max_pages: int = 1000
    max_depth: int = 10
    delay: float = 1.0            # seconds between requests to one host (robots crawl-delay may raise it)
    max_delay: float = 60.0       # a robots crawl-delay above this is capped (and logged)
    timeout: float = 30.0         # per fetch, total
    max_bytes: int = 10_000_000   # larger responses are not archived
    max_redirects: int = 5
    allow_private: bool = False
    scope: Scope | None = None
    user_agent: str = USER_AGENT


@dataclass
class CrawlReport:
    fetched: int = 0              # this session
    resumed: int = 0              # fetched by earlier sessions of the same crawl
    skipped: dict[str, int] = field(default_factory=dict)
    warc: str = ""
    log: str = ""

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(order=True)
class _Item:
    depth: int
    url: str = field(compare=True)
    via: str | None = field(default=None, compare=False)
    hops: int = field(default=0, compare=False)

    def log_record(self) -> dict:
        """The fields every crawl-log line starts with."""
        return {"url": self.url, "depth": self.depth, "via": self.via, "hops": self.hops}


class _Session:
    """One run of `crawl`: its numbered WARC and log files, and the state read from earlier ones."""

    def __init__(self, out: str):
        self.out = out
        logs = [name for name in storage.list_files(storage.join(out, "logs")) if name.endswith(".jsonl")]
        self.number = len(logs)
        self.earlier = [storage.join(out, "logs", name) for name in sorted(logs)]
        self.warc_name = f"warc/crawl-{self.number:05d}.warc.gz"
        self.log_url = storage.join(out, "logs", f"crawl-{self.number:05d}.jsonl")

    def earlier_records(self) -> Iterator[dict]:
        for url in self.earlier:
            for line in storage.read_bytes(url).splitlines():
                try:
                    yield json.loads(line)
                except ValueError:  # a line cut by a kill: that URL is simply done again
                    continue


class Crawler:
    def __init__(self, config: CrawlConfig):
        self.config = config
        self.seeds = [normalize_url(s) for s in config.seeds]
        self.scope = config.scope or Scope(hosts={urlsplit(s).netloc for s in self.seeds})
        self.fetcher = Fetcher(config.user_agent, config.timeout, config.max_bytes, config.allow_private)
        self.robots: dict[str, Robots] = {}
        self.tdm: dict[str, TdmRep] = {}
        self.queues: dict[str, deque[_Item]] = {}
        self.ready: list[tuple[float, str]] = []  # (time the host may be asked again, host)
        self.scheduled: set[str] = set()          # hosts in `ready`
        self.next_time: dict[str, float] = {}
        self.seen: set[str] = set()
        self.report = CrawlReport()

    # -- frontier ------------------------------------------------------------------------

    def _enqueue(self, item: _Item) -> None:
        if item.url in self.seen:
            return
        self.seen.add(item.url)
        host = urlsplit(item.url).netloc
        self.queues.setdefault(host, deque()).append(item)
        self._schedule(host)

    def _schedule(self, host: str) -> None:
        if host not in self.scheduled and self.queues.get(host):
            self.scheduled.add(host)
            heapq.heappush(self.ready, (self.next_time.get(host, 0.0), host))

    def _restore(self, session: _Session) -> None:
        """Rebuild the seen-set and the frontier from the logs of earlier sessions.

        Their URLs are normalized again: logs written before URLs were made ASCII hold raw
        IRIs (/café), and a URL that can never be fetched must not stop every later session.
        """
        done: dict[str, dict] = {}
        for record in session.earlier_records():
            done[record["url"]] = record
        self.seen |= set(_normalized(done))
        for record in done.values():
            self.seen |= set(_normalized(record.get("skipped_links", {})))
            if record.get("reason") in ("fetched", "redirect"):
                self.report.resumed += 1
        for record in done.values():
            for link in _normalized(record.get("links", [])):
                self._enqueue(_Item(record["depth"] + 1, link, via=record["url"]))
            for location in _normalized([record["location"]] if record.get("location") else []):
                self._enqueue(_Item(record["depth"], location, via=record["url"], hops=record["hops"] + 1))

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> CrawlReport:
        session = _Session(self.config.out)
        self._restore(session)
        for seed in self.seeds:
            self._enqueue(_Item(0, seed))
        self.report.warc = storage.join(self.config.out, session.warc_name)
        self.report.log = session.log_url
        last_progress = time.monotonic()
        with storage.open_url(self.report.warc, "wb") as warc_file, storage.open_url(session.log_url, "wb") as log_file:
            warc_file.write(_warcinfo(session.warc_name, self.config.user_agent))
            while self.ready and self.report.fetched + self.report.resumed < self.config.max_pages:
                when, host = heapq.heappop(self.ready)
                self.scheduled.discard(host)
                if when > time.monotonic():  # politeness: this host is the next one allowed
                    time.sleep(when - time.monotonic())
                item = self.queues[host].popleft()
                record, records = self._visit_safely(item)
                if records:  # all of one URL's records in one write, then its log line
                    record.update(warc=session.warc_name, offset=_tell(warc_file))
                    warc_file.write(records)
                    warc_file.flush()
                self.next_time[host] = time.monotonic() + self._delay(host)
                self._schedule(host)
                log_file.write(json.dumps(record, sort_keys=True).encode("utf-8") + b"\n")
                log_file.flush()
                if time.monotonic() - last_progress > PROGRESS_SECONDS:
                    last_progress = time.monotonic()
                    log.info("[crawl] %d fetched, %d skipped, %d queued", self.report.fetched,
                             sum(self.report.skipped.values()), sum(len(q) for q in self.queues.values()))
        return self.report

    def _delay(self, host: str) -> float:
        robots = self.robots.get(host)
        asked = robots.crawl_delay() if robots else None
        return min(max(self.config.delay, asked or 0.0), self.config.max_delay)

    # -- one URL -----------------------------------------------------------------------------

    def _visit_safely(self, item: _Item) -> tuple[dict, bytes]:
        """`_visit`, except that a failure on one URL is logged and skipped: a hostile page must not
        end the crawl, nor every session that resumes it."""
        try:
            return self._visit(item)
        except Exception as e:
            reason = f"error:{type(e).__name__}"
            self.report.skip(reason)
            log.warning("[crawl] skip %s: %s", item.url, reason, exc_info=True)
            return {**item.log_record(), "status": None, "reason": reason}, b""

    def _visit(self, item: _Item) -> tuple[dict, bytes]:
        """The URL's log record and its WARC records (b"" when nothing is archived)."""
        record = item.log_record()
        reason = self._refusal(item)
        if reason:
            self.report.skip(reason)
            log.info("[crawl] skip %s: %s", item.url, reason)
            return {**record, "status": None, "reason": reason}, b""
        try:
            response = self.fetcher.get(item.url)
        except FetchError as e:
            self.report.skip(e.reason)
            log.info("[crawl] skip %s: %s", item.url, e.reason)
            return {**record, "status": None, "reason": e.reason}, b""
        record["status"] = response.status
        reason = header_reservation(response.header_map(), ROBOTS_TOKEN)
        content_type = response.header("content-type").split(";")[0].strip().lower()
        meta = page_meta(decode_html(response.body, response.header("content-type")), item.url, ROBOTS_TOKEN) \
            if content_type in HTML_TYPES and response.status == 200 else None
        if reason is None and meta is not None:
            reason = "tdm-reserved" if meta.tdm_reservation else "noai" if "noai" in meta.robots else None
        if reason:
            self.report.skip(reason)
            log.info("[crawl] skip %s: %s", item.url, reason)
            return {**record, "reason": reason}, b""
        if 300 <= response.status < 400 and response.header("location"):
            return self._redirect(item, response, record)
        links, skipped = self._links(item, meta)
        records = _archive(response, item, links)
        self._follow(item, links, skipped)
        self.report.fetched += 1
        return {**record, "reason": "fetched", "content_type": content_type, "bytes": len(response.body),
                "links": links, "skipped_links": skipped}, records

    def _refusal(self, item: _Item) -> str | None:
        if item.hops > self.config.max_redirects:
            return "too-many-redirects"
        parts = urlsplit(item.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.netloc not in self.robots:
            try:  # the first fetch from a host: its address check decides for the page too
                robots, tdm = self._fetch_aside(origin + "/robots.txt"), self._fetch_aside(origin + "/.well-known/tdmrep.json")
            except Refused as e:
                return e.reason
            self.robots[parts.netloc], self.tdm[parts.netloc] = Robots(*robots, ROBOTS_TOKEN), TdmRep(*tdm)
            asked = self.robots[parts.netloc].crawl_delay()
            if asked and asked > self.config.max_delay:
                log.warning("[crawl] %s asks a crawl-delay of %.0f s; using %.0f s", parts.netloc, asked, self.config.max_delay)
        if not self.robots[parts.netloc].allowed(item.url):
            return "robots-disallowed"
        if self.tdm[parts.netloc].reserved(parts.path or "/"):
            return "tdm-reserved"
        return None

    def _fetch_aside(self, url: str) -> tuple[int | None, bytes]:
        """robots.txt and tdmrep.json: (status, body), or (None, b'') when nothing answered.

        Raises Refused: a host whose address is refused is not asked anything."""
        try:
            response = self.fetcher.get(url)
        except Refused:
            raise
        except FetchError:
            return None, b""
        return response.status, response.body

    def _links(self, item: _Item, meta: PageMeta | None) -> tuple[list[str], dict[str, str]]:
        """The page's links to follow, and those out of scope with the reason."""
        if meta is None or item.depth >= self.config.max_depth or "nofollow" in meta.robots:
            return [], {}
        links, skipped = [], {}
        for link in meta.links:
            out = self.scope.reason_out(link)
            if out:
                skipped[link] = out
            else:
                links.append(link)
        return links, skipped

    def _follow(self, item: _Item, links: Iterable[str], skipped: dict[str, str]) -> None:
        for link, reason in skipped.items():
            self._skip_link(link, reason)
        for link in links:
            self._enqueue(_Item(item.depth + 1, link, via=item.url))

    def _skip_link(self, url: str, reason: str) -> None:
        """A link not followed is counted once per URL."""
        if url not in self.seen:
            self.seen.add(url)
            self.report.skip(reason)

    def _redirect(self, item: _Item, response: Response, record: dict) -> tuple[dict, bytes]:
        try:
            target = normalize_url(urljoin(item.url, _header_text(response.header("location"))))
        except ValueError:
            self.report.skip("bad-redirect")
            return {**record, "reason": "bad-redirect"}, b""
        records = _archive(response, item, [])
        self.report.fetched += 1
        out = self.scope.reason_out(target)
        if out:
            self._skip_link(target, out)
            return {**record, "reason": "redirect", "skipped_links": {target: out}}, records
        self._enqueue(_Item(item.depth, target, via=item.url, hops=item.hops + 1))
        return {**record, "reason": "redirect", "location": target}, records


def _normalized(urls: Iterable[str]) -> Iterator[str]:
    """normalize_url of each URL that has a normal form."""
    for url in urls:
        try:
            yield normalize_url(url)
        except ValueError:
            log.info("[crawl] dropping %r from an earlier log: not a URL", url)


def _header_text(value: str) -> str:
    """A header value as its sender most likely meant it: http.client reads header bytes as Latin-1,
    servers send UTF-8 (or bytes that are neither, kept as surrogates and percent-encoded as they were)."""
    return value.encode("latin-1").decode("utf-8", errors="surrogateescape")


# -- WARC ---------------------------------------------------------------------------------------


def _warcinfo(warc_name: str, software: str) -> bytes:
    return _warc_bytes(lambda writer: [writer.create_warcinfo_record(warc_name, {
        "software": software, "format": "WARC File Format 1.1", "robots": "obey", "tdm-reservation": "obey"})])


def _archive(response: Response, item: _Item, links: list[str]) -> bytes:
    """response, request and metadata records, serialized together: a failure in any of them leaves
    nothing half-written, and the response record is first (the log's offset points at it)."""
    parts = urlsplit(item.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def build(writer: WARCWriter) -> list[Any]:
        http = StatusAndHeaders(f"{response.status} {response.reason}".strip(), response.headers, protocol="HTTP/1.1")
        answer = writer.create_warc_record(item.url, "response", payload=BytesIO(response.body), http_headers=http)
        request = writer.create_warc_record(item.url, "request", payload=BytesIO(), http_headers=StatusAndHeaders(
            f"GET {path} HTTP/1.1", response.request_headers, is_http_request=True))
        lines = [f"via: {item.via}"] if item.via else []
        lines += [f"hopsFromSeed: {item.depth}"] + [f"outlink: {link}" for link in links]
        metadata = writer.create_warc_record(item.url, "metadata", payload=BytesIO("\n".join(lines).encode("utf-8")),
                                             warc_content_type="application/warc-fields")
        for concurrent in (request, metadata):
            concurrent.rec_headers.add_header("WARC-Concurrent-To", answer.rec_headers.get_header("WARC-Record-ID"))
        return [answer, request, metadata]

    return _warc_bytes(build)


def _warc_bytes(build: Callable[[WARCWriter], list[Any]]) -> bytes:
    """The records `build` makes with a writer, as the gzipped bytes that writer would append to a WARC file."""
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for record in build(writer):
        writer.write_record(record)
    return buffer.getvalue()


def _tell(out: IO[bytes]) -> int:
    try:
        return out.tell()
    except (OSError, AttributeError):
        return -1


def crawl(config: CrawlConfig) -> CrawlReport:
    """Crawl from the seeds into config.out (WARC files under warc/, logs under logs/)."""
    return Crawler(config).run()
