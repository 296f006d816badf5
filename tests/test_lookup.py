"""License lookup by hash, file and URL: the CLI and the HTTP API, on a snapshot the real pipeline built."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from opencorpus.cli import main
from opencorpus.document import canonical_hash
from opencorpus.lookup.server import create_app

BEAM = ["--", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
DOCS = [
    {"id": "a", "text": "SPDX-License-Identifier: MIT\nThe quick brown fox jumps over the lazy dog.",
     "url": "HTTP://Example.COM:80/a?x=1&b=2#top"},
    # The same canonical text as "a" (trailing spaces, CRLF): exact dedup removes it in a's favour.
    {"id": "b", "text": "SPDX-License-Identifier: MIT\r\nThe quick brown fox jumps over the lazy dog.  \r\n",
     "url": "https://example.com/b"},
    {"id": "c", "text": "\ufeffCafe\u0301 society minutes.\r\nSecond line, with a combining accent.\r\n",
     "url": "https://example.com/c"},
    {"id": "d", "text": "SPDX-License-Identifier: Apache-2.0\nA different text entirely, about zebras and their stripes."},
]
RECIPE = """\
name: lookup
date: 2026-11-01
sources:
  - {name: web, uri: data/docs.jsonl, url_field: url, license: CC-BY-4.0}
stages: {pii: false}
tokenizer: false
output: {shards: 2}
"""


def build_snapshot(folder: Path) -> Path:
    """Run the real pipeline on DOCS; returns the corpus root (its LATEST names v1)."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    (folder / "recipe.yaml").write_text(RECIPE)
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), "--quiet", *BEAM]) == 0
    return folder / "out" / "lookup"


@contextmanager
def serve(version_url: str) -> Iterator[str]:
    """The real uvicorn server on a free 127.0.0.1 port, in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(version_url), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the lookup server did not start")
            thread.join(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_snapshot(tmp_path_factory.mktemp("lookup"))


@pytest.fixture(scope="module")
def client(corpus) -> TestClient:
    return TestClient(create_app(str(corpus / "v1")))


def hash_of(doc_id: str) -> str:
    return canonical_hash(next(d["text"] for d in DOCS if d["id"] == doc_id))


def license_cli(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["license", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


# ---- CLI ---------------------------------------------------------------------------------


def test_cli_hash_found_with_license_evidence_and_snapshot(corpus, capsys):
    code, answer, _ = license_cli(capsys, hash_of("d"), "--snapshot", str(corpus))
    assert code == 0
    assert answer["found"] is True
    assert (answer["id"], answer["source"], answer["license"]) == ("web/d", "web", "Apache-2.0")
    assert answer["evidence"][0]["matched"] == "SPDX-License-Identifier: Apache-2.0"
    assert answer["snapshot"] == str(corpus / "v1")  # the corpus root resolved through LATEST


def test_cli_file_is_hashed_canonically_and_dedup_copy_points_to_survivor(corpus, capsys, tmp_path):
    copy = tmp_path / "b.txt"
    copy.write_bytes(DOCS[1]["text"].encode("utf-8"))
    code, answer, _ = license_cli(capsys, str(copy), "--snapshot", str(corpus / "v1"))
    assert code == 0
    assert answer["sha256"] == hash_of("a")
    assert answer["id"] == "web/a" and answer["license"] == "MIT"
    # Every match: the survivor itself, and the removed copy "web/b" pointing at it.
    assert [(m["id"], m.get("duplicate_of"), m.get("removed", {}).get("id")) for m in answer["matches"]] == [
        ("web/a", None, None), ("web/a", "web/a", "web/b")]


def test_cli_url_is_normalized(corpus, capsys):
    code, answer, _ = license_cli(capsys, "http://EXAMPLE.com/a?x=1&b=2#elsewhere", "--snapshot", str(corpus))
    assert code == 0
    assert answer["url"] == "http://example.com/a?x=1&b=2"
    assert answer["id"] == "web/a"


def test_cli_unknown_hash_exits_3(corpus, capsys):
    code, answer, _ = license_cli(capsys, "0" * 64, "--snapshot", str(corpus))
    assert code == 3
    assert answer["found"] is False and answer["matches"] == []


@pytest.mark.parametrize("bad, why", [("abc123", "got 6 hex digits"), ("z" * 64, "non-hex characters"),
                                      ("0" * 65, "got 65 hex digits")])
def test_cli_bad_hash_is_a_usage_error(corpus, capsys, bad, why):
    code, answer, err = license_cli(capsys, bad, "--snapshot", str(corpus))
    assert code == 2 and answer is None
    assert "is not a sha256 (64 hex digits" in err and why in err


def test_cli_missing_snapshot_exits_3(tmp_path, capsys):
    code, _, err = license_cli(capsys, "0" * 64, "--snapshot", str(tmp_path / "nowhere"))
    assert code == 3 and "no snapshot at" in err


def test_cli_file_that_is_not_utf8_fails_clearly(corpus, capsys, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9")
    code, _, err = license_cli(capsys, str(bad), "--snapshot", str(corpus))
    assert code == 1 and "invalid UTF-8 at byte 3" in err


# ---- HTTP API (TestClient) ---------------------------------------------------------------


def test_api_document_found(client):
    response = client.get(f"/v1/documents/{hash_of('c')}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["license"]) == ("web/c", "CC-BY-4.0")
    assert body["evidence"][0]["method"] == "declared"


def test_api_unknown_hash_is_404_and_bad_hash_422(client):
    assert client.get(f"/v1/documents/{'f' * 64}").status_code == 404
    for bad in ("abc", hash_of("c").upper(), hash_of("c") + "0", "g" * 64, "..manifest.json"):
        response = client.get(f"/v1/documents/{bad}")
        assert response.status_code == 422, bad
        assert "String should match pattern" in response.text


@pytest.mark.parametrize("path", ["/v1/documents/../../manifest.json", "/v1/documents/..%2F..%2Fmanifest.json",
                                  "/../manifest.json", "/static/../manifest.json", "/index/index.json"])
def test_api_no_path_reaches_snapshot_files(client, path):
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert '"corpus"' not in response.text and '"indexes"' not in response.text


def test_api_batch_lookup(client):
    response = client.post("/v1/lookup", json={"sha256": [hash_of("a"), "e" * 64], "urls": ["https://example.com/c#x"]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["found"] for r in results] == [True, False, True]
    assert results[2]["id"] == "web/c"
    assert client.post("/v1/lookup", json={"sha256": ["not-a-hash"]}).status_code == 422
    assert client.post("/v1/lookup", json={"sha256": ["0" * 64] * 1001}).status_code == 422
    assert client.post("/v1/lookup", json={"urls": ["not a url"]}).status_code == 422


def test_api_snapshots_health_and_openapi(client, corpus):
    info = client.get("/v1/snapshots").json()["snapshots"][0]
    assert (info["corpus"], info["version"], info["documents"]) == ("lookup", "v1", 3)
    assert len(info["digest"]) == 64
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/documents/{sha256}", "/v1/lookup", "/v1/snapshots", "/healthz"} <= set(paths)
    assert client.post(f"/v1/documents/{hash_of('a')}").status_code == 405  # read-only


def test_real_server_answers_over_http(corpus):
    with serve(str(corpus / "v1")) as base:
        with urllib.request.urlopen(f"{base}/v1/documents/{hash_of('d')}") as response:
            assert response.status == 200
            assert json.loads(response.read())["license"] == "Apache-2.0"
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(f"{base}/v1/documents/{'0' * 64}")
        assert not_found.value.code == 404
        with urllib.request.urlopen(f"{base}/") as page:
            assert b"<title>opencorpus" in page.read()
