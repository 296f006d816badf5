"""The WARC/ARC reader on pywb's sample archives, checked against warcio's reading of them
(tests/data/warc/records.jsonl), and on archives written here with warcio."""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources import read_source_file, source_files
from opencorpus.sources.warc import WarcReadError, iter_records, read_warc

DATA = Path(__file__).parent / "data" / "warc"
SPEC = SourceSpec(name="web", uri=str(DATA), kind="web", format="warc")
DATE = "2026-11-01"


def truth() -> dict[str, list[dict]]:
    rows = defaultdict(list)
    for line in (DATA / "records.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["file"].split("/")[-1]].append(row)
    return rows


def read_all(name: str, spec: SourceSpec = SPEC) -> list[Document | DeadLetter]:
    return list(read_warc(spec, str(DATA / name), name, DATE))


@pytest.mark.parametrize("name", sorted(truth()))
def test_records_match_warcio_truth(name):
    expected = truth()[name]
    got, error = [], None
    with open(DATA / name, "rb") as f:
        try:
            got.extend(iter_records(f, 10**8))
        except WarcReadError as e:
            error = e
    assert [(r.offset, r.rec_type, r.target_uri) for r in got] == \
        [(t["offset"], t["rec_type"], t["target_uri"]) for t in expected]
    for record, row in zip(got, expected):
        if record.payload is not None:
            assert hashlib.sha1(record.payload).hexdigest() == row["payload_sha1"], (name, record.offset)
    assert (error is not None) == name.endswith(".bad")


def test_html_responses_become_documents_awaiting_extraction():
    docs = read_all("example.warc.gz")
    # warcinfo, 2 requests, a revisit and a 302 are not documents; one 200 text/html response is.
    assert len(docs) == 1
    doc = docs[0]
    assert doc.id == "web/http://example.com?example=1"
    assert doc.metadata["url"] == "http://example.com?example=1"
    assert doc.created == "2014-01-03T03:03:21Z"
    assert doc.text == "" and "<title>Example Domain</title>" in doc.raw
    assert doc.location == f"example.warc.gz@{truth()['example.warc.gz'][1]['offset']}"


def test_a_uri_captured_twice_in_a_file_keeps_ids_unique():
    ids = [d.id for d in read_all("example-extra.warc")]
    assert len(ids) == len(set(ids)) == 2
    assert ids[0] == "web/http://example.com?example=2"
    assert ids[1].startswith("web/http://example.com?example=2@")


def test_arc_records_and_arc_dates():
    [doc] = read_all("example.arc.gz")
    assert doc.id == "web/http://example.com/"
    assert doc.created == "2014-02-16T05:02:21Z"


def test_bad_arc_with_empty_payloads_yields_nothing_and_no_error():
    assert read_all("bad.arc") == []


def test_broken_gzip_warc_goes_to_dead_letters_with_file_and_offset(caplog):
    [dead] = read_all("example-bad.warc.gz.bad")
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "unreadable" and dead.stage == "ingest"
    assert dead.location == "example-bad.warc.gz.bad@0"
    assert "after 1 records" in dead.detail and "ArchiveLoadFailed" in dead.detail
    assert "example-bad.warc.gz.bad: unreadable" in caplog.text


def test_truncated_and_garbage_archives_are_reported_and_reading_goes_on(tmp_path):
    whole = (DATA / "dupes.warc.gz").read_bytes()
    (tmp_path / "a-truncated.warc.gz").write_bytes(whole[: len(whole) * 2 // 3])
    (tmp_path / "b-garbage.warc").write_bytes(b"garbage\n" * 50)
    (tmp_path / "c-good.warc.gz").write_bytes((DATA / "example.warc.gz").read_bytes())
    spec = SourceSpec(name="web", uri=str(tmp_path), kind="web", format="warc")
    out = [o for f in source_files(spec, str(tmp_path), str(tmp_path)) for o in read_source_file(spec, f, DATE)]
    dead = [o for o in out if isinstance(o, DeadLetter)]
    docs = [o for o in out if isinstance(o, Document)]
    assert [d.location.split("@")[0] for d in dead] == ["a-truncated.warc.gz", "b-garbage.warc"]
    assert all(d.reason == "unreadable" for d in dead)
    # the records before the cut are still read, and so is the next file
    assert any(d.location.startswith("a-truncated") for d in docs)
    assert any(d.location.startswith("c-good") for d in docs)


def _response(writer: WARCWriter, uri: str, body: bytes, content_type: str, status: str = "200 OK"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers,
                                       warc_headers_dict={"WARC-Date": "2026-01-02T03:04:05Z"})
    writer.write_record(record)


def test_binary_large_and_non_utf8_payloads(tmp_path):
    path = tmp_path / "made.warc.gz"
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        _response(writer, "http://x.test/latin1", "<html><body><p>Café crème</p></body></html>".encode("latin-1"),
                  "text/html; charset=ISO-8859-1")
        _response(writer, "http://x.test/binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "text/html")
        _response(writer, "http://x.test/big", b"<html><body>" + b"<p>word</p>" * 2000 + b"</body></html>", "text/html")
        _response(writer, "http://x.test/style.css", b"body { color: red }", "text/css")
        _response(writer, "http://x.test/gone", b"<html>Not here</html>", "text/html", "404 Not Found")
    spec = SourceSpec(name="web", uri=str(path), kind="web", format="warc", max_document_bytes=10_000)
    out = {o.id: o for o in read_warc(spec, str(path), "made.warc.gz", DATE)}
    assert set(out) == {"web/http://x.test/latin1", "web/http://x.test/binary", "web/http://x.test/big"}
    assert "Café crème" in out["web/http://x.test/latin1"].raw
    assert out["web/http://x.test/latin1"].created == "2026-01-02T03:04:05Z"
    assert (out["web/http://x.test/binary"].reason, out["web/http://x.test/big"].reason) == ("binary", "too-large")
    assert "max_document_bytes=10000" in out["web/http://x.test/big"].detail
