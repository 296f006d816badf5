"""License lookup by hash, file and URL: the CLI and the HTTP API, on a snapshot the real pipeline built."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient

from opencorpus.cli import main
from opencorpus.lookup.limits import DEFAULTS, BodyLimit, Limits
from opencorpus.lookup.server import create_app

from conftest import LOOKUP_DOCS, lookup_hash_of, serve_lookup

# The URI of LOOKUP_DOCS' d: its IRI as a crawler would have archived it.
D_URI = "https://xn--bcher-kva.example/caf%C3%A9/z%C3%A8bres?q=th%C3%A9"


@pytest.fixture(scope="module")
def client(lookup_snapshot) -> TestClient:
    return TestClient(create_app(str(lookup_snapshot / "v1")))


def license_cli(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["license", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


# ---- CLI ---------------------------------------------------------------------------------


def test_cli_hash_found_with_license_evidence_and_snapshot(lookup_snapshot, capsys):
    code, answer, _ = license_cli(capsys, lookup_hash_of("d"), "--snapshot", str(lookup_snapshot))
    assert code == 0
    assert answer["found"] is True
    assert (answer["id"], answer["source"], answer["license"]) == ("web/d", "web", "Apache-2.0")
    assert answer["evidence"][0]["matched"] == "SPDX-License-Identifier: Apache-2.0"
    assert answer["snapshot"] == str(lookup_snapshot / "v1")  # the corpus root resolved through LATEST


def test_cli_file_is_hashed_canonically_and_dedup_copy_points_to_survivor(lookup_snapshot, capsys, tmp_path):
    copy = tmp_path / "b.txt"
    copy.write_bytes(LOOKUP_DOCS[1]["text"].encode("utf-8"))
    code, answer, _ = license_cli(capsys, str(copy), "--snapshot", str(lookup_snapshot / "v1"))
    assert code == 0
    assert answer["sha256"] == lookup_hash_of("a")
    assert answer["id"] == "web/a" and answer["license"] == "MIT"
    # Every match: the survivor itself, and the removed copy "web/b" pointing at it.
    assert [(m["id"], m.get("duplicate_of"), m.get("removed", {}).get("id")) for m in answer["matches"]] == [
        ("web/a", None, None), ("web/a", "web/a", "web/b")]


def test_cli_url_is_normalized(lookup_snapshot, capsys):
    code, answer, _ = license_cli(capsys, "http://EXAMPLE.com/a?x=1&b=2#elsewhere", "--snapshot", str(lookup_snapshot))
    assert code == 0
    assert answer["url"] == "http://example.com/a?x=1&b=2"
    assert answer["id"] == "web/a"


def test_a_non_ascii_url_is_found_by_its_iri_and_its_uri(lookup_snapshot, client, capsys):
    iri = "https://BÜCHER.example/café/zèbres?q=thé#stripes"
    response = client.post("/v1/lookup", json={"urls": [iri, D_URI, "https://bücher.example/café/zèbres?q=the"]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["found"], r["url"]) for r in results] == [(True, D_URI), (True, D_URI), (False, D_URI.replace("th%C3%A9", "the"))]
    assert results[0]["id"] == results[1]["id"] == "web/d"
    code, answer, _ = license_cli(capsys, iri, "--snapshot", str(lookup_snapshot))
    assert (code, answer["url"], answer["id"], answer["license"]) == (0, D_URI, "web/d", "Apache-2.0")


def test_cli_unknown_hash_exits_3(lookup_snapshot, capsys):
    code, answer, _ = license_cli(capsys, "0" * 64, "--snapshot", str(lookup_snapshot))
    assert code == 3
    assert answer["found"] is False and answer["matches"] == []


@pytest.mark.parametrize("bad, why", [("abc123", "got 6 hex digits"), ("z" * 64, "non-hex characters"),
                                      ("0" * 65, "got 65 hex digits")])
def test_cli_bad_hash_is_a_usage_error(lookup_snapshot, capsys, bad, why):
    code, answer, err = license_cli(capsys, bad, "--snapshot", str(lookup_snapshot))
    assert code == 2 and answer is None
    assert "is not a sha256 (64 hex digits" in err and why in err


@pytest.mark.parametrize("bad", ["http://a:port/", "http://[zz/", "http://a:-1/", "http://[::1]:99999999/",
                                 "http:///no-host", "http://a/\ud800"])
def test_cli_url_that_cannot_be_normalized_is_a_usage_error(lookup_snapshot, capsys, bad):
    code, answer, err = license_cli(capsys, bad, "--snapshot", str(lookup_snapshot))
    assert code == 2 and answer is None
    assert "not a URL that can be looked up" in err and "Traceback" not in err


def test_cli_missing_snapshot_exits_3(tmp_path, capsys):
    code, _, err = license_cli(capsys, "0" * 64, "--snapshot", str(tmp_path / "nowhere"))
    assert code == 3 and "no snapshot at" in err


def test_cli_file_that_is_not_utf8_fails_clearly(lookup_snapshot, capsys, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9")
    code, _, err = license_cli(capsys, str(bad), "--snapshot", str(lookup_snapshot))
    assert code == 1 and "invalid UTF-8 at byte 3" in err


# ---- HTTP API (TestClient) ---------------------------------------------------------------


def test_api_document_found(client):
    response = client.get(f"/v1/documents/{lookup_hash_of('c')}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["license"]) == ("web/c", "CC-BY-4.0")
    assert body["evidence"][0]["method"] == "declared"


def test_api_unknown_hash_is_404_and_bad_hash_422(client):
    assert client.get(f"/v1/documents/{'f' * 64}").status_code == 404
    for bad in ("abc", lookup_hash_of("c").upper(), lookup_hash_of("c") + "0", "g" * 64, "..manifest.json"):
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
    response = client.post("/v1/lookup", json={"sha256": [lookup_hash_of("a"), "e" * 64], "urls": ["https://example.com/c#x"]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["found"] for r in results] == [True, False, True]
    assert results[2]["id"] == "web/c"
    assert client.post("/v1/lookup", json={"sha256": ["not-a-hash"]}).status_code == 422
    assert client.post("/v1/lookup", json={"sha256": ["0" * 64] * 1001}).status_code == 422
    assert client.post("/v1/lookup", json={"urls": ["not a url"]}).status_code == 422


BAD_URLS = ["http://a:port/", "http://[zz/", "http://a:-1/", "http://[::1]:99999999/", "http://a/\ud800",
            "http://[v1.x/", "HTTP://" + "a" * 8000 + ":x/"]


@pytest.mark.parametrize("bad", BAD_URLS)
def test_api_url_that_cannot_be_normalized_is_422_naming_its_place(client, bad):
    body = json.dumps({"sha256": [lookup_hash_of("a")], "urls": ["https://example.com/c", bad]})
    response = client.post("/v1/lookup", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "urls", 1]
    assert set(error) == {"loc", "msg", "type"}  # never `input`: no echo
    assert bad.split("//")[1][:5] not in response.text


@pytest.mark.parametrize("body", ['{"sha256": [NaN]}', '{"sha256": [Infinity], "urls": [1e999]}',
                                  '{"sha256": ["\\ud800"]}', '{"urls": {"\\udfff": 1}}', "[NaN]", "{"])
def test_api_json_that_cannot_be_echoed_is_422(client, body):
    response = client.post("/v1/lookup", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert all(set(e) == {"loc", "msg", "type"} for e in response.json()["detail"])


def test_api_validation_errors_never_echo_the_input(client):
    big = "z" * 500_000
    response = client.post("/v1/lookup", json={"sha256": [big], "urls": ["not a url " + big]})
    assert response.status_code == 422
    assert len(response.content) < 1000 and "zzzz" not in response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "sha256", 0], ["body", "urls", 0]]


def test_api_body_over_the_limit_is_413(client):
    urls = [f"https://example.com/{i:08}" + "x" * 1000 for i in range(1100)]  # 1.1 MB
    response = client.post("/v1/lookup", json={"urls": urls})
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body over {DEFAULTS.body_bytes} bytes"}
    assert response.headers["connection"] == "close"


def test_body_limit_counts_a_streamed_body_and_stops_reading_at_the_limit():
    """No Content-Length (chunked): the middleware refuses at the first chunk past the limit
    and never reads the rest, however much the client would send."""
    reads, sent = 0, []

    async def endless_body() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:
        raise AssertionError("the app must not see an oversized body")

    scope = {"type": "http", "method": "POST", "path": "/v1/lookup", "headers": []}
    asyncio.run(BodyLimit(app, max_bytes=1 << 20, seconds=5)(scope, endless_body, send))
    assert sent[0]["status"] == 413
    assert reads == 17  # 16 chunks make 1 MiB; the 17th is past it


def test_api_answers_name_the_configured_url_never_the_disk_path_or_host(lookup_snapshot):
    public = "https://data.example.org/corpora/lookup/v1/"
    for app, name in ((create_app(str(lookup_snapshot / "v1"), public_url=public), public),
                      (create_app(str(lookup_snapshot / "v1")), "lookup/v1")):
        client = TestClient(app, base_url="http://evil.example")
        answers = [client.get("/healthz"), client.get("/v1/snapshots"), client.get(f"/v1/documents/{lookup_hash_of('a')}"),
                   client.get(f"/v1/documents/{'0' * 64}"),
                   client.post("/v1/lookup", json={"sha256": [lookup_hash_of("c")], "urls": ["https://example.com/c"]})]
        assert [a.json()["snapshot"] for a in answers if "snapshot" in a.json()] == [name] * 4
        assert client.get("/v1/snapshots").json()["snapshots"][0]["url"] == name
        assert [r["snapshot"] for r in answers[-1].json()["results"]] == [name, name]
        answers.append(client.get("/openapi.json"))
        for answer in answers:
            assert str(lookup_snapshot) not in answer.text and "evil.example" not in answer.text
        # Starlette's trailing-slash redirect would build its Location from the Host header.
        redirect = client.get("/v1/snapshots/", follow_redirects=False)
        assert redirect.status_code == 404 and "location" not in redirect.headers


def test_api_snapshots_health_and_openapi(client, lookup_snapshot):
    info = client.get("/v1/snapshots").json()["snapshots"][0]
    assert (info["corpus"], info["version"], info["documents"]) == ("lookup", "v1", 3)
    assert len(info["digest"]) == 64
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/documents/{sha256}", "/v1/lookup", "/v1/snapshots", "/healthz"} <= set(paths)
    assert client.post(f"/v1/documents/{lookup_hash_of('a')}").status_code == 405  # read-only


def test_real_server_answers_over_http(lookup_snapshot):
    with serve_lookup(str(lookup_snapshot / "v1")) as base:
        with urllib.request.urlopen(f"{base}/v1/documents/{lookup_hash_of('d')}") as response:
            assert response.status == 200
            assert json.loads(response.read())["license"] == "Apache-2.0"
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(f"{base}/v1/documents/{'0' * 64}")
        assert not_found.value.code == 404
        with urllib.request.urlopen(f"{base}/") as page:
            assert b"<title>opencorpus" in page.read()


# ---- the real server against slow and greedy clients -------------------------------------


def address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def seconds_until_closed(sock: socket.socket) -> float:
    """How long until the server closes the connection (TimeoutError past the socket's timeout)."""
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - start


FAST = Limits(header_seconds=0.5, body_seconds=0.5)


@pytest.mark.parametrize("sent", [b"", b"GET /healthz HT", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"],
                         ids=["nothing", "half-a-request-line", "headers-unfinished"])
def test_real_server_drops_a_client_that_never_finishes_its_headers(lookup_snapshot, sent):
    with serve_lookup(str(lookup_snapshot / "v1"), FAST) as base, socket.create_connection(address(base), timeout=5) as sock:
        sock.sendall(sent)
        assert seconds_until_closed(sock) < 3  # today: TimeoutError, the connection is held for ever


def test_real_server_deadline_is_not_extended_by_a_drip(lookup_snapshot):
    with serve_lookup(str(lookup_snapshot / "v1"), FAST) as base, socket.create_connection(address(base), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ")
        give_up = time.monotonic() + 3
        with pytest.raises(OSError):  # the server hangs up mid-drip: a broken pipe or a reset
            while time.monotonic() < give_up:
                sock.sendall(b"y")
                time.sleep(0.05)


def test_real_server_deadline_restarts_for_each_request_on_a_kept_alive_connection(lookup_snapshot):
    with serve_lookup(str(lookup_snapshot / "v1"), FAST) as base, socket.create_connection(address(base), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.8)  # longer than the deadline, but the headers came in time
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /heal")
        assert seconds_until_closed(sock) < 3  # the deadline, not the 5 s keep-alive timeout


def test_real_server_answers_408_to_a_body_that_never_arrives(lookup_snapshot):
    with serve_lookup(str(lookup_snapshot / "v1"), FAST) as base, socket.create_connection(address(base), timeout=5) as sock:
        sock.sendall(b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{")
        assert sock.recv(65536).startswith(b"HTTP/1.1 408 ")


def test_real_server_refuses_a_declared_huge_body_before_reading_it(lookup_snapshot):
    with serve_lookup(str(lookup_snapshot / "v1")) as base, socket.create_connection(address(base), timeout=5) as sock:
        sock.sendall(b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        answer = sock.recv(65536)  # today: TimeoutError, the server waits for 100 MB
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
