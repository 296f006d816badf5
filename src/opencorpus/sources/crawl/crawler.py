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
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Iterator
from urllib.parse import urljoin, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from opencorpus import __version__, storage
from opencorpus.document import normalize_url
from opencorpus.sources.crawl.fetch import Fetcher, FetchError, Response
from opencorpus.sources.crawl.html_meta import page_meta
from opencorpus.sources.crawl.policy import Robots, Scope, TdmRep, address_refusal, header_reservation

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
        self.scope = config.scope or Scope(hosts={urlsplit(normalize_url(s)).netloc for s in config.seeds})
        self.fetcher = Fetcher(config.user_agent, config.timeout, config.max_bytes)
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
        """Rebuild the seen-set and the frontier from the logs of earlier sessions."""
        done: dict[str, dict] = {}
        for record in session.earlier_records():
            done[record["url"]] = record
        self.seen |= set(done)
        for record in done.values():
            self.seen |= set(record.get("skipped_links", {}))
            if record.get("reason") in ("fetched", "redirect"):
                self.report.resumed += 1
        for record in done.values():
            for link in record.get("links", []):
                self._enqueue(_Item(record["depth"] + 1, link, via=record["url"]))
            if record.get("location"):
                self._enqueue(_Item(record["depth"], record["location"], via=record["url"], hops=record["hops"] + 1))

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> CrawlReport:
        session = _Session(self.config.out)
        self._restore(session)
        for seed in self.config.seeds:
            self._enqueue(_Item(0, normalize_url(seed)))
        self.report.warc = storage.join(self.config.out, session.warc_name)
        self.report.log = session.log_url
        last_progress = time.monotonic()
        with storage.open_url(self.report.warc, "wb") as warc_file, storage.open_url(session.log_url, "wb") as log_file:
            writer = WARCWriter(warc_file, gzip=True)
            writer.write_record(writer.create_warcinfo_record(session.warc_name, {
                "software": self.config.user_agent, "format": "WARC File Format 1.1",
                "robots": "obey", "tdm-reservation": "obey"}))
            while self.ready and self.report.fetched + self.report.resumed < self.config.max_pages:
                when, host = heapq.heappop(self.ready)
                self.scheduled.discard(host)
                if when > time.monotonic():  # politeness: this host is the next one allowed
                    time.sleep(when - time.monotonic())
                item = self.queues[host].popleft()
                record = self._visit(item, writer, session.warc_name)
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

    def _visit(self, item: _Item, writer: WARCWriter, warc_name: str) -> dict:
        record = {"url": item.url, "depth": item.depth, "via": item.via, "hops": item.hops}
        reason = self._refusal(item)
        if reason:
            self.report.skip(reason)
            log.info("[crawl] skip %s: %s", item.url, reason)
            return {**record, "status": None, "reason": reason}
        try:
            response = self.fetcher.get(item.url)
        except FetchError as e:
            self.report.skip(e.reason)
            log.info("[crawl] skip %s: %s", item.url, e.reason)
            return {**record, "status": None, "reason": e.reason}
        record["status"] = response.status
        reason = header_reservation(response.header_map(), ROBOTS_TOKEN)
        content_type = response.header("content-type").split(";")[0].strip().lower()
        meta = page_meta(response.body.decode("utf-8", errors="replace"), item.url, ROBOTS_TOKEN) \
            if content_type in HTML_TYPES and response.status == 200 else None
        if reason is None and meta is not None:
            reason = "tdm-reserved" if meta.tdm_reservation else "noai" if "noai" in meta.robots else None
        if reason:
            self.report.skip(reason)
            log.info("[crawl] skip %s: %s", item.url, reason)
            return {**record, "reason": reason}
        if 300 <= response.status < 400 and response.header("location"):
            return {**record, **self._redirect(item, response, writer, warc_name)}
        links, skipped = [], {}
        if meta is not None and item.depth < self.config.max_depth and "nofollow" not in meta.robots:
            for link in meta.links:
                out = self._out_of_scope(link)
                if out:
                    skipped[link] = out
                else:
                    links.append(link)
                    self._enqueue(_Item(item.depth + 1, link, via=item.url))
        offset = self._archive(writer, response, item, links)
        self.report.fetched += 1
        return {**record, "reason": "fetched", "content_type": content_type, "bytes": len(response.body),
                "warc": warc_name, "offset": offset, "links": links, "skipped_links": skipped}

    def _refusal(self, item: _Item) -> str | None:
        if item.hops > self.config.max_redirects:
            return "too-many-redirects"
        parts = urlsplit(item.url)
        refused = address_refusal(parts.hostname or "", self.config.allow_private)
        if refused:
            return refused
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.netloc not in self.robots:
            self.robots[parts.netloc] = Robots(*self._fetch_aside(origin + "/robots.txt"), ROBOTS_TOKEN)
            self.tdm[parts.netloc] = TdmRep(*self._fetch_aside(origin + "/.well-known/tdmrep.json"))
            asked = self.robots[parts.netloc].crawl_delay()
            if asked and asked > self.config.max_delay:
                log.warning("[crawl] %s asks a crawl-delay of %.0f s; using %.0f s", parts.netloc, asked, self.config.max_delay)
        if not self.robots[parts.netloc].allowed(item.url):
            return "robots-disallowed"
        if self.tdm[parts.netloc].reserved(parts.path or "/"):
            return "tdm-reserved"
        return None

    def _fetch_aside(self, url: str) -> tuple[int | None, bytes]:
        """robots.txt and tdmrep.json: (status, body), or (None, b'') when nothing answered."""
        try:
            response = self.fetcher.get(url)
        except FetchError:
            return None, b""
        return response.status, response.body

    def _out_of_scope(self, url: str) -> str | None:
        """The reason a link is not followed (counted once per URL), or None."""
        reason = self.scope.reason_out(url)
        if reason and url not in self.seen:
            self.seen.add(url)
            self.report.skip(reason)
        return reason

    def _redirect(self, item: _Item, response: Response, writer: WARCWriter, warc_name: str) -> dict:
        try:
            target = normalize_url(urljoin(item.url, response.header("location")))
        except ValueError:
            self.report.skip("bad-redirect")
            return {"reason": "bad-redirect"}
        offset = self._archive(writer, response, item, [])
        self.report.fetched += 1
        out = self._out_of_scope(target)
        if out:
            return {"reason": "redirect", "warc": warc_name, "offset": offset, "skipped_links": {target: out}}
        self._enqueue(_Item(item.depth, target, via=item.url, hops=item.hops + 1))
        return {"reason": "redirect", "location": target, "warc": warc_name, "offset": offset}

    # -- WARC ---------------------------------------------------------------------------------

    def _archive(self, writer: WARCWriter, response: Response, item: _Item, links: list[str]) -> int:
        """request, response and metadata records; returns the response record's offset."""
        parts = urlsplit(item.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        request = writer.create_warc_record(item.url, "request", payload=BytesIO(),
                                            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", response.request_headers,
                                                                          is_http_request=True))
        http = StatusAndHeaders(f"{response.status} {response.reason}".strip(), response.headers, protocol="HTTP/1.1")
        record = writer.create_warc_record(item.url, "response", payload=BytesIO(response.body), http_headers=http)
        request.rec_headers.add_header("WARC-Concurrent-To", record.rec_headers.get_header("WARC-Record-ID"))
        offset = _tell(writer.out)
        writer.write_record(record)
        writer.write_record(request)
        lines = [f"via: {item.via}"] if item.via else []
        lines += [f"hopsFromSeed: {item.depth}"] + [f"outlink: {link}" for link in links]
        metadata = writer.create_warc_record(item.url, "metadata", payload=BytesIO("\n".join(lines).encode("utf-8")),
                                             warc_content_type="application/warc-fields")
        metadata.rec_headers.add_header("WARC-Concurrent-To", record.rec_headers.get_header("WARC-Record-ID"))
        writer.write_record(metadata)
        writer.out.flush()
        return offset


def _tell(out: IO[bytes]) -> int:
    try:
        return out.tell()
    except (OSError, AttributeError):
        return -1


def crawl(config: CrawlConfig) -> CrawlReport:
    """Crawl from the seeds into config.out (WARC files under warc/, logs under logs/)."""
    return Crawler(config).run()
