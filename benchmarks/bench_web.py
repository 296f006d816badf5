"""Web ingest benchmark: serve each site of <corpora>/web on 127.0.0.1, crawl it with
`opencorpus crawl`'s crawler into WARC, run extract -> language -> quality (the pure stages a run
uses) on the archived pages, and print:

- crawl: pages fetched/s, pages fetched vs pages in the folder, URLs fetched more than once and
  fetches of URLs that robots.txt disallows (the server serves a robots.txt that disallows
  /_sources/ and counts every request);

- extraction similarity: word-level F1 (lower-cased \\w+ tokens) against a reference text, ours
  beside plain `trafilatura.extract` (its defaults) on the same pages, both against the same
  reference. python-docs: the page's reST source (`_sources/`, as the corpus README says).
  debian-handbook has no sources: the reference is the visible text of the page body without
  publican's navigation chrome (#banner, #title, ul.docnav), i.e. the book text as a reader sees it;
- language-ID accuracy against debian-handbook.truth.jsonl (en-US pages and pages flagged
  `untranslated_copy` are English, the others the folder's language; the flag comes from a
  whole-page Jaccard, so partly translated pages count as translated);
- quality-filter drops (web preset) and language counts;
- pages/s: crawl, our extract+language+quality, plain trafilatura;
- bad input: a 50 MB page and a binary served as text/html, through the same path.

Usage: python benchmarks/bench_web.py --corpora ../shared/corpora
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import re
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trafilatura
from lxml import html as lxml_html
from warcio.archiveiterator import ArchiveIterator

from opencorpus.document import DeadLetter, Document, Removed
from opencorpus.recipe import parse_recipe
from opencorpus.sources.crawl import CrawlConfig, crawl
from opencorpus.sources.html import html_document
from opencorpus.stages.extract import HtmlExtractor
from opencorpus.stages.language import LanguageIdentifier, LanguageOptions
from opencorpus.stages.quality import QualityFilter, QualityOptions

WORD = re.compile(r"\w+")
DATE = "2026-11-01"
TARGET = 0.95  # our median F1 >= 0.95 x plain trafilatura's
HANDBOOK_CHROME = "//*[@id='banner'] | //*[@id='title'] | //ul[contains(@class, 'docnav')] | //script | //style"


def word_f1(candidate: str, reference: str) -> float:
    a, b = Counter(WORD.findall(candidate.lower())), Counter(WORD.findall(reference.lower()))
    overlap = sum((a & b).values())
    return 2 * overlap / (sum(a.values()) + sum(b.values())) if overlap else 0.0


ROBOTS = b"User-agent: *\nDisallow: /_sources/\n"
SEEDS = {"python-docs": ["index.html"],
         "debian-handbook": ["en-US/index.html", "da-DK/index.html", "ro-RO/index.html"]}


class CountingHandler(SimpleHTTPRequestHandler):
    """Static files, a robots.txt, and a count of every request path."""

    def __init__(self, *args, hits: Counter, **kwargs):
        self.hits = hits
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.hits[self.path] += 1
        if self.path == "/robots.txt":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(ROBOTS)))
            self.end_headers()
            self.wfile.write(ROBOTS)
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


class Site:
    """A static server for one folder on 127.0.0.1 (an ephemeral port), stopped on exit."""

    def __init__(self, root: Path):
        self.hits: Counter[str] = Counter()
        handler = functools.partial(CountingHandler, directory=str(root), hits=self.hits)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fetch(self, path: str) -> tuple[bytes, str | None]:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            return response.read(), response.headers.get_content_charset()


def crawl_site(site: Site, seeds: list[str], out: Path) -> tuple[dict[str, tuple[bytes, str | None]], dict]:
    """Crawl from the seeds; the archived HTML pages (path -> payload, charset) and crawl facts."""
    start = time.perf_counter()
    report = crawl(CrawlConfig(seeds=[site.base + s for s in seeds], out=str(out), max_pages=100_000,
                               delay=0.0, allow_private=True))
    seconds = time.perf_counter() - start
    pages: dict[str, tuple[bytes, str | None]] = {}
    statuses: Counter[int] = Counter()
    for warc in sorted((out / "warc").iterdir()):
        with open(warc, "rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type != "response":
                    continue
                status = int(record.http_headers.get_statuscode())
                statuses[status] += 1
                content_type = record.http_headers.get_header("Content-Type") or ""
                if status == 200 and content_type.startswith("text/html"):
                    path = record.rec_headers.get_header("WARC-Target-URI")[len(site.base):]
                    charset = re.search(r"charset=([\w-]+)", content_type)
                    pages[path] = (record.content_stream().read(), charset.group(1) if charset else None)
    return pages, {"seconds": seconds, "statuses": statuses, "skipped": report.skipped,
                   "twice": sum(1 for p, n in site.hits.items() if n > 1),
                   "disallowed": sum(n for p, n in site.hits.items() if p.startswith("/_sources/"))}


class Curator:
    """extract -> language -> quality on one page, as the pipeline runs them."""

    def __init__(self):
        recipe = parse_recipe(f"name: bench\ndate: {DATE}\nsources: [{{name: web, uri: x, format: html, kind: web}}]\n")
        self.spec = recipe.sources[0]
        self.stages = [HtmlExtractor(), LanguageIdentifier(LanguageOptions.from_options(recipe.stage("language"))),
                       QualityFilter(QualityOptions.from_options(recipe.stage("quality")))]
        for stage in self.stages:
            stage.setup()
        self.seconds: Counter[str] = Counter()  # per stage ("ingest" = decode + hash), summed over pages

    def run(self, path: str, url: str, payload: bytes, charset: str | None) -> tuple[Document | None, object]:
        """(the document after extraction, the final outcome)."""
        t = time.perf_counter()
        outcome: object = html_document(self.spec, DATE, path, payload, path, charset=charset, url=url)
        self.seconds["ingest"] += time.perf_counter() - t
        extracted = None
        for stage in self.stages:
            if not isinstance(outcome, Document):
                break
            t = time.perf_counter()
            [outcome] = stage.process(outcome)
            self.seconds[stage.name] += time.perf_counter() - t
            if stage.name == "extract" and isinstance(outcome, Document):
                extracted = outcome
        return extracted, outcome


def handbook_reference(page: str) -> str:
    tree = lxml_html.fromstring(page.encode("utf-8"))
    for element in tree.xpath(HANDBOOK_CHROME):
        element.drop_tree()
    body = tree.find("body")
    return (body if body is not None else tree).text_content()


def load_truth(path: Path) -> dict[str, dict]:
    return {row["path"]: row for row in map(json.loads, path.read_text().splitlines())}


def bench_site(corpora: Path, site: str, curator: Curator) -> dict:
    root = corpora / "web" / site
    truth = load_truth(corpora / "web" / f"{site}.truth.jsonl")
    in_folder = sorted(str(p.relative_to(root)) for p in root.rglob("*.html") if "_sources" not in p.parts)
    with Site(root) as server, tempfile.TemporaryDirectory() as out:
        fetched, crawl_facts = crawl_site(server, SEEDS[site], Path(out))
    pages = sorted(fetched)
    crawl_facts["in_folder"] = len(in_folder)

    ours, plain, quality, languages, lang_pairs, errors = [], [], Counter(), Counter(), Counter(), Counter()
    identified: dict[str, tuple[str, str]] = {}  # handbook page -> (extracted text, language)
    seconds_before = Counter(curator.seconds)
    ours_s = plain_s = 0.0
    for path in pages:
        payload, charset = fetched[path]
        t = time.perf_counter()
        extracted, outcome = curator.run(path, f"{server.base}{path}", payload, charset)
        ours_s += time.perf_counter() - t
        page = payload.decode(charset or "utf-8")
        t = time.perf_counter()
        plain_text = trafilatura.extract(page) or ""
        plain_s += time.perf_counter() - t

        if isinstance(outcome, DeadLetter):
            errors[outcome.reason] += 1
        elif isinstance(outcome, Removed):
            quality[f"{outcome.stage}:{outcome.reason}"] += 1
        else:
            quality["kept"] += 1
        row = truth.get(path, {})
        if site == "python-docs":
            if not row.get("source_rst"):
                continue  # index and download have no source text
            reference = (root / row["source_rst"]).read_text(encoding="utf-8")
        else:
            reference = handbook_reference(page)
        ours.append(word_f1(extracted.text if extracted else "", reference))
        plain.append(word_f1(plain_text, reference))
        if extracted is not None:
            language = curator.stages[1].identify(extracted.text)[0]
            languages[language] += 1
            if site == "debian-handbook":
                expected = "en" if row["lang_dir"] == "en-US" or row["untranslated_copy"] else row["lang_dir"][:2]
                lang_pairs[(row["lang_dir"], expected, language)] += 1
                identified[path] = (extracted.text, language)
    texts = {path: text for path, (text, _) in identified.items()}
    content_pairs = Counter((path.split("/")[0], content_expected(path, texts), language)
                            for path, (_, language) in identified.items())
    return {"site": site, "pages": len(pages), "fetch_s": crawl_facts["seconds"], "crawl": crawl_facts,
            "ours_s": ours_s, "plain_s": plain_s, "f1_ours": ours, "f1_plain": plain, "quality": quality, "languages": languages,
            "lang_pairs": lang_pairs, "content_pairs": content_pairs, "errors": errors,
            "stage_s": curator.seconds - seconds_before}


def content_expected(path: str, texts: dict[str, str]) -> str:
    """A second reference for the handbook: a translated page whose extracted text still has word
    F1 >= 0.8 with the en-US page's is English in content (the truth flag compares whole pages,
    where translated navigation and titles lower the similarity)."""
    folder, name = path.split("/", 1)
    if folder == "en-US" or word_f1(texts[path], texts.get(f"en-US/{name}", "")) >= 0.8:
        return "en"
    return folder[:2]


def bench_bad_input(curator: Curator) -> list[tuple[str, str, float]]:
    """A 50 MB page and a PNG served as text/html: dead letters, in bounded time."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "huge.html").write_bytes(b"<html><body>" + b"<p>All work and no play.</p>" * 1_800_000 + b"</body></html>")
        (root / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64)
        (root / "broken.html").write_bytes(b"<html><body><div><p>" + b"Unclosed tags everywhere. " * 40 + b"<b><i></td></table>")
        with Site(root) as server:
            for name in ("huge.html", "image.html", "broken.html"):
                t = time.perf_counter()
                payload, charset = server.fetch(name)
                _, outcome = curator.run(name, server.base + name, payload, charset)
                what = outcome.reason if isinstance(outcome, (DeadLetter, Removed)) else "kept"
                rows.append((f"{name} ({len(payload) / 1e6:.1f} MB)", what, time.perf_counter() - t))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    curator = Curator()
    sites = [s for s in ("python-docs", "debian-handbook") if (args.corpora / "web" / s).is_dir()]
    results = [bench_site(args.corpora, s, curator) for s in sites]

    print("\nCrawl (opencorpus crawler, robots.txt disallows /_sources/)")
    print(f"{'site':<17}{'in folder':>10}{'fetched 200':>12}{'statuses':>28}{'twice':>7}{'disallowed':>11}{'pages/s':>9}")
    for r in results:
        c = r["crawl"]
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(c["statuses"].items()))
        print(f"{r['site']:<17}{c['in_folder']:>10}{r['pages']:>12}{statuses:>28}{c['twice']:>7}{c['disallowed']:>11}"
              f"{sum(c['statuses'].values()) / c['seconds']:>9.1f}")
        print(f"  skipped: {dict(sorted(c['skipped'].items()))}")

    print("\nExtraction similarity (word F1 vs reference; median / mean over pages)")
    print(f"{'site':<17}{'pages':>6}{'ours median':>13}{'plain median':>14}{'ours mean':>11}{'plain mean':>12}"
          f"{'ratio':>8}  target >= {TARGET}")
    for r in results:
        mo, mp = statistics.median(r["f1_ours"]), statistics.median(r["f1_plain"])
        print(f"{r['site']:<17}{len(r['f1_ours']):>6}{mo:>13.4f}{mp:>14.4f}{statistics.mean(r['f1_ours']):>11.4f}"
              f"{statistics.mean(r['f1_plain']):>12.4f}{mo / mp:>8.3f}  {'PASS' if mo >= TARGET * mp else 'FAIL'}")

    print("\nThroughput (pages/s, one process)")
    print(f"{'site':<17}{'pages':>6}{'crawl':>12}{'plain trafilatura':>19}{'our extract':>13}"
          f"{'language':>10}{'quality':>9}{'all ours':>10}")
    for r in results:
        n, st = r["pages"], r["stage_s"]
        print(f"{r['site']:<17}{n:>6}{n / r['fetch_s']:>12.1f}{n / r['plain_s']:>19.1f}"
              f"{n / (st['ingest'] + st['extract']):>13.1f}{n / st['language']:>10.1f}{n / st['quality']:>9.1f}"
              f"{n / r['ours_s']:>10.1f}")
    print("  (our extract = decode + hash + trafilatura with title; "
          "quality = datatrove's filters, only on pages that reach them)")

    print("\nLanguage and quality (web preset)")
    for r in results:
        print(f"{r['site']}: languages {dict(r['languages'].most_common())}")
        for label, key in (("truth file (untranslated_copy)", "lang_pairs"),
                           ("extracted text vs en-US (F1 >= 0.8)", "content_pairs")):
            if pairs := r[key]:
                total, hits = sum(pairs.values()), sum(n for (_, want, got), n in pairs.items() if want == got)
                print(f"  language-ID accuracy, reference = {label}: {hits}/{total} = {hits / total:.3f}")
                for folder in sorted({f for f, _, _ in pairs}):
                    cells = ", ".join(f"expected {want} -> {got}: {n}"
                                      for (f, want, got), n in sorted(pairs.items()) if f == folder)
                    print(f"    {folder}: {cells}")
        print(f"  outcomes {dict(sorted(r['quality'].items()))}" + (f"; dead letters {dict(r['errors'])}" if r["errors"] else ""))

    print("\nBad input (served over HTTP, same path)")
    for name, outcome, seconds in bench_bad_input(curator):
        print(f"  {name:<24} -> {outcome:<32} {seconds:.2f} s")


if __name__ == "__main__":
    main()
