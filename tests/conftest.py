"""What several test modules share: the e2e recipe and one session-wide run of it (the real
pipeline, FnApiRunner, as the `e2e_snapshot` fixture), and readers of a version folder
(imported: `from conftest import read_documents`); the lookup corpus (`LOOKUP_DOCS`, its builder
`build_lookup_snapshot`, `serve_lookup` and `lookup_hash_of`) and one session-wide run of it
(the `lookup_snapshot` fixture), read by the lookup CLI, API, fuzz and page tests; and the
near-dedup helpers (`near_dup_options`, `near_dup_doc`, `near_dup_real_docs`,
`near_dup_truth_clusters`, and `near_duplicates`, the one-process oracle) used with and without
Beam; `pii_settings`, the PII stage's settings from a few options; headless Chromium
(`chromium`, `needs_chromium`) and a local S3 API (`moto_s3`, `free_port`). Test modules never
import each other."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from opencorpus.cli import main
from opencorpus.document import Document, canonical_hash
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.lookup.limits import DEFAULTS, Limits, server_config
from opencorpus.recipe import resolve_stage_options
from opencorpus.stages.dedup import Member, apply_verdicts, doc_node
from opencorpus.stages.near_dedup import (
    NearDedupOptions,
    band_keys,
    components,
    jaccard,
    resolve_cluster,
    shingle_hashes,
    signature,
    star_edges,
)
from opencorpus.stages.pii import PiiSettings

DEMO_DATA = Path(__file__).parent / "data" / "demo"
BEAM = ["--", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
E2E_RECIPE = """\
name: e2e
date: 2026-11-01
seed: 7
sources:
  - {{name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
  - {{name: vendored, uri: data/vendored-python.jsonl.zst, kind: code}}
  - {{name: changelogs, uri: data/debian-changelogs.jsonl.zst}}
  - {{name: broken, uri: data/broken.jsonl}}
  - {{name: nothing, uri: "data/absent-*.jsonl", optional: true}}
tokenizer: {{train: {{vocab_size: 600, sample_size: 300}}}}
output: {{shards: 3}}
{extra}"""
BROKEN = (
    b'{"id": "ok-1", "text": "A good line. SPDX-License-Identifier: Apache-2.0"}\n'
    b'{"id": "bad-json", "text": \n'
    b'{"id": "bad-utf8", "text": "caf\xe9"}\n'
    b'{"id": "unknown-spdx", "text": "SPDX-License-Identifier: Nonsense-9.9"}\n'
    b'{"id": "no-text"}\n'
)


def make_e2e_recipe(folder: Path, extra: str = "") -> Path:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in ("libzstd-debian.jsonl.zst", "vendored-python.jsonl.zst", "debian-changelogs.jsonl.zst"):
        shutil.copy(DEMO_DATA / name, data / name)
    (data / "broken.jsonl").write_bytes(BROKEN)
    (folder / "recipe.yaml").write_text(E2E_RECIPE.format(extra=extra))
    return folder / "recipe.yaml"



def read_documents(version: Path) -> list[dict[str, Any]]:
    """Every published document of a version folder, in part and line order."""
    return [d for part in sorted((version / "documents").iterdir()) for d in read_jsonl_zst(str(part))]


def read_manifest(version: Path) -> dict[str, Any]:
    return json.loads((version / layout.MANIFEST).read_text())


@pytest.fixture(scope="session")
def e2e_snapshot(tmp_path_factory) -> Path:
    """The version folder of one run of the e2e recipe (every stage, a trained tokenizer, dead
    letters), shared by every test that only reads it."""
    folder = tmp_path_factory.mktemp("e2e")
    recipe = make_e2e_recipe(folder / "recipe")
    assert main(["run", str(recipe), "--output", str(folder / "out"), *BEAM]) == 0
    return folder / "out" / "e2e" / "v1"


# ---- lookup: a small web corpus for the license lookup (CLI, HTTP API, fuzzing, web page) ----

LOOKUP_DOCS = [
    {"id": "a", "text": "SPDX-License-Identifier: MIT\nThe quick brown fox jumps over the lazy dog.",
     "url": "HTTP://Example.COM:80/a?x=1&b=2#top"},
    # The same canonical text as "a" (trailing spaces, CRLF): exact dedup removes it in a's favour.
    {"id": "b", "text": "SPDX-License-Identifier: MIT\r\nThe quick brown fox jumps over the lazy dog.  \r\n",
     "url": "https://example.com/b"},
    {"id": "c", "text": "\ufeffCafe\u0301 society minutes.\r\nSecond line, with a combining accent.\r\n",
     "url": "https://example.com/c"},
    # A page known by its IRI (as a browser shows it); a crawler would have archived its URI.
    {"id": "d", "text": "SPDX-License-Identifier: Apache-2.0\nA different text entirely, about zebras and their stripes.",
     "url": "https://Bücher.example/café/zèbres?q=thé"},
]
LOOKUP_RECIPE = """\
name: lookup
date: 2026-11-01
sources:
  - {name: web, uri: data/docs.jsonl, url_field: url, license: CC-BY-4.0}
stages: {pii: false}
tokenizer: false
output: {shards: 2}
"""


def build_lookup_snapshot(folder: Path) -> Path:
    """Run the real pipeline on LOOKUP_DOCS; returns the corpus root (its LATEST names v1)."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in LOOKUP_DOCS), encoding="utf-8")
    (folder / "recipe.yaml").write_text(LOOKUP_RECIPE)
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), "--quiet", *BEAM]) == 0
    return folder / "out" / "lookup"


@pytest.fixture(scope="session")
def lookup_snapshot(tmp_path_factory) -> Path:
    """The corpus root of one run of the lookup recipe, shared by every test that only reads it
    (a test that changes a snapshot, e.g. a takedown, builds its own with build_lookup_snapshot)."""
    return build_lookup_snapshot(tmp_path_factory.mktemp("lookup"))


def lookup_hash_of(doc_id: str) -> str:
    """The canonical hash of LOOKUP_DOCS' document `doc_id`."""
    return canonical_hash(next(d["text"] for d in LOOKUP_DOCS if d["id"] == doc_id))


@contextmanager
def serve_lookup(version_url: str, limits: Limits = DEFAULTS) -> Iterator[str]:
    """The real uvicorn server, configured as `opencorpus serve` runs it, on a free 127.0.0.1
    port in a thread; yields its base URL."""
    from opencorpus.lookup.server import create_app  # imported here: FastAPI is slow to import for every test

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(create_app(version_url, limits=limits), log_level="warning", limits=limits))
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


# ---- near-dedup: the recorded near-duplicate data and its truth ----------------------------

NEAR_DUP_DATA = Path(__file__).parent / "data" / "near-dup"
NEAR_DUP_RECIPE = "name: t\ndate: 2026-01-01\nsources: [{name: s, uri: x.jsonl}]\n"


def near_dup_options(**written) -> NearDedupOptions:
    """The near_dedup stage's options as a recipe that writes `written` for them resolves them."""
    return NearDedupOptions.from_options(resolve_stage_options("near_dedup", written))


def pii_settings(**written) -> PiiSettings:
    """The pii stage's settings as a recipe that writes `written` for them resolves them (the
    default preset's, with those on top)."""
    return PiiSettings.from_options(resolve_stage_options("pii", written))


def near_dup_doc(doc_id: str, text: str, license: str | None = "NOASSERTION", **metadata) -> Document:
    """A document as near dedup meets it: its source from its id, its sha256 and license set."""
    return Document(id=doc_id, text=text, source=doc_id.split("/")[0],
                    metadata={"sha256": canonical_hash(text), "license": license, **metadata})


def near_dup_real_docs() -> list[Document]:
    return [near_dup_doc(f"near-dup/{r['id']}", r["text"])
            for r in map(json.loads, open(NEAR_DUP_DATA / "docs.jsonl", encoding="utf-8"))]


def near_dup_truth_clusters(threshold: float = 0.8) -> set[frozenset[str]]:
    """The clusters the recorded exact Jaccard similarities make at `threshold`."""
    pairs = [json.loads(line) for line in open(NEAR_DUP_DATA / "pairs.jsonl", encoding="utf-8")]
    roots = components((f"near-dup/{p['a']}", f"near-dup/{p['b']}") for p in pairs if p["jaccard"] >= threshold)
    clusters: dict[str, set[str]] = {}
    for node, root in roots.items():
        clusters.setdefault(root, set()).add(node)
    return {frozenset(c) for c in clusters.values()}


def near_duplicates(docs: Iterable[Any], options: NearDedupOptions) -> tuple[list[Any], list[Any]]:
    """Near dedup in one process, composed of the stage's pure functions: the oracle the Beam
    transform is checked against. Survivors in input order, removed by id."""
    params = options.params
    docs = list(docs)
    hashes: dict[Any, Any] = {}
    buckets: dict[tuple[int, bytes], list[Any]] = {}
    for d in docs:
        h = shingle_hashes(d.text, params.ngram)
        if h.size:
            hashes[doc_node(d)] = h
            for key in band_keys(signature(h, params), params):
                buckets.setdefault(key, []).append(doc_node(d))
    edges = {e for nodes in buckets.values() for e in star_edges(nodes)}
    if options.verify:
        edges = {(u, v) for u, v in edges if jaccard(hashes[u], hashes[v]) >= params.threshold}
    roots = components(sorted(edges))
    clusters: dict[Any, list[Member]] = {}
    for d in docs:
        if (root := roots.get(doc_node(d))) is not None:
            clusters.setdefault(root, []).append(Member.of(d))
    verdicts: dict[Any, Any] = {}
    removed = []
    for members in clusters.values():
        decided, gone = resolve_cluster(members, options.survivor)
        verdicts.update((v.node, v) for v in decided)
        removed += gone
    kept = (apply_verdicts(d, [verdicts[doc_node(d)]] if doc_node(d) in verdicts else []) for d in docs)
    return [d for d in kept if d is not None], sorted(removed, key=lambda r: r.id)


# ---- headless Chromium (Debian's chromium and chromium-driver; `make test` installs them) --------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Without the background-networking flags Chromium keeps trying hosts this offline machine refuses.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages chromium, chromium-driver; "
           "`make test` installs them when run as root)")


@contextmanager
def chromium(profile: Path, flags: list[str], console_log: bool = False) -> Iterator[Any]:
    """A Selenium driver of headless Chromium with a fresh profile folder and extra `flags`;
    `console_log`: keep the page's console messages for driver.get_log("browser")."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with pytest.MonkeyPatch.context() as mp:
        # Explicit browser and driver paths: Selenium Manager never runs, so nothing is downloaded.
        mp.setenv("SE_OFFLINE", "true")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        if console_log:
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        for flag in CHROMIUM_FLAGS + flags + [f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
        try:
            yield driver
        finally:
            driver.quit()


# ---- a local S3 API (moto's server) ---------------------------------------------------------------


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (for a server to take, or to find closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_s3(scratch: Path, key_id: str, secret: str) -> Iterator[str]:
    """moto's S3 server on a free 127.0.0.1 port, with s3fs pointed at it through the environment
    (and nothing of this machine's own AWS setup); yields the endpoint URL."""
    import logging

    import s3fs
    from moto.server import ThreadedMotoServer

    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # not one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    none = scratch / "none"
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith(("AWS_", "FSSPEC_S3"))]:
            mp.delenv(name)
        for name, value in {"AWS_CONFIG_FILE": str(none), "AWS_SHARED_CREDENTIALS_FILE": str(none),
                            "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": key_id,
                            "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
                            "AWS_ENDPOINT_URL": endpoint}.items():
            mp.setenv(name, value)
        s3fs.S3FileSystem.clear_instance_cache()  # fsspec keeps one per options, with its endpoint
        try:
            yield endpoint
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()
            werkzeug.setLevel(level)


def reversed_keys(value: Any) -> Any:
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value
