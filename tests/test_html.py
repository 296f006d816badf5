"""The html reader and the extract stage (trafilatura) on real pages."""

from __future__ import annotations

import collections
import re
from pathlib import Path

from opencorpus.document import DeadLetter, Document, Removed, canonical_hash
from opencorpus.recipe import SourceSpec
from opencorpus.sources import read_source_file, source_files
from opencorpus.sources.html import html_document
from opencorpus.stages.extract import HtmlExtractor

DATA = Path(__file__).parent / "data" / "html"
DATE = "2026-11-01"
WORD = re.compile(r"\w+")


def read(folder: Path, **fields) -> list[Document | DeadLetter]:
    spec = SourceSpec(name="site", uri=str(folder), kind="web", format="html", **fields)
    return [o for f in source_files(spec, spec.uri, str(folder)) for o in read_source_file(spec, f, DATE)]


def extract(doc: Document) -> Document | Removed:
    stage = HtmlExtractor()
    stage.setup()
    [out] = stage.process(doc)
    return out


def word_f1(a: str, b: str) -> float:
    ca, cb = collections.Counter(WORD.findall(a.lower())), collections.Counter(WORD.findall(b.lower()))
    overlap = sum((ca & cb).values())
    return 2 * overlap / (sum(ca.values()) + sum(cb.values())) if overlap else 0.0


def test_html_folder_ids_are_relative_paths_and_urls_come_from_base_url():
    docs = read(DATA / "debian-handbook", base_url="https://debian-handbook.info/browse/")
    assert [d.id for d in docs] == ["site/da-DK/preface.html", "site/en-US/sect.kali.html",
                                    "site/ro-RO/sect.who-is-this-book-for.html"]
    assert docs[1].metadata["url"] == "https://debian-handbook.info/browse/en-US/sect.kali.html"
    assert docs[1].metadata["path"] == "en-US/sect.kali.html"
    assert docs[1].text == "" and docs[1].raw.lstrip().startswith("<")
    assert "url" not in read(DATA / "debian-handbook")[0].metadata


def test_extraction_keeps_main_text_title_url_and_raw_html():
    [page] = [d for d in read(DATA / "python-docs") if d.id.endswith(".html")]
    doc = extract(page)
    source = (DATA / "python-docs" / "_sources" / "tutorial" / "appetite.rst.txt").read_text()
    assert doc.metadata["title"].startswith("1. Whetting Your Appetite")
    assert "If you do much work on computers, eventually you find that there" in doc.text
    assert word_f1(doc.text, source) > 0.9
    # navigation and footer boilerplate are not main text
    assert "Previous topic" not in doc.text and "Report a Bug" not in doc.text
    assert doc.metadata["sha256"] == canonical_hash(doc.text)
    assert doc.raw == page.raw  # for the license stage; never published
    assert "raw" not in doc.to_dolma() and "<html" not in doc.to_dolma()["text"]


def test_empty_extraction_is_removed_under_the_page_hash():
    spec = SourceSpec(name="site", uri="x", kind="web", format="html")
    page = html_document(spec, DATE, "gallery.html",
                         b"<html><head><title>Gallery</title></head>"
                         b"<body><script>show()</script><img src='a.png'></body></html>", "gallery.html")
    out = extract(page)
    assert isinstance(out, Removed)
    assert (out.stage, out.reason, out.id) == ("extract", "empty-extraction", "site/gallery.html")
    assert out.sha256 == page.metadata["sha256"] == canonical_hash(page.raw)


def test_broken_html_is_extracted_without_error():
    spec = SourceSpec(name="site", uri="x", kind="web", format="html")
    text = "This paragraph is long enough to count as the main content of a page. " * 5
    broken = f"<html><body><div><p>{text}<b>bold <i>never closed</p></div></td></table><p>Last words".encode()
    doc = extract(html_document(spec, DATE, "broken.html", broken, "broken.html"))
    assert isinstance(doc, Document)
    assert text.strip() in doc.text


def test_non_document_text_passes_the_extract_stage_unchanged():
    doc = Document(id="s/1", text="plain text", source="s", metadata={"sha256": canonical_hash("plain text")})
    assert extract(doc) is doc


def test_bad_pages_go_to_dead_letters(tmp_path):
    (tmp_path / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 4)
    (tmp_path / "huge.html").write_bytes(b"<html><body>" + b"<p>big page</p>" * 10_000 + b"</body></html>")
    (tmp_path / "style.css").write_text("body { color: red }")  # not a page: skipped
    latin1 = '<html><head><meta charset="iso-8859-1"></head><body>Crème brûlée</body></html>'
    (tmp_path / "latin1.html").write_bytes(latin1.encode("latin-1"))
    out = {o.id: o for o in read(tmp_path, max_document_bytes=50_000)}
    assert set(out) == {"site/image.html", "site/huge.html", "site/latin1.html"}
    assert (out["site/image.html"].reason, out["site/huge.html"].reason) == ("binary", "too-large")
    assert out["site/huge.html"].location == "huge.html"
    assert "Crème brûlée" in out["site/latin1.html"].raw
