"""The read-only HTTP API (FastAPI, OpenAPI at /openapi.json) and the web page at `/`.

Every hash is checked against 64 lowercase hex digits before any file is touched, URLs are
hashed before they name a shard, and the page's files are fixed names read once from
`static/`: no request can name a path, so nothing outside the snapshot's index is readable.
Swagger's /docs is off: it loads its JavaScript from a CDN, and nothing is downloaded here.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints

from opencorpus import __version__
from opencorpus.lookup.reader import Lookup

SHA256_PATTERN = r"^[0-9a-f]{64}$"
MAX_BATCH = 1000
# (route, file in static/, media type)
PAGE_FILES = (("/", "index.html", "text/html; charset=utf-8"),
              ("/app.js", "app.js", "text/javascript; charset=utf-8"),
              ("/style.css", "style.css", "text/css; charset=utf-8"))

Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=8192, pattern=r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]+")]


class LookupRequest(BaseModel):
    """A batch: canonical hashes and/or page URLs (normalized before lookup)."""

    sha256: list[Sha256] = Field(default_factory=list, max_length=MAX_BATCH)
    urls: list[Url] = Field(default_factory=list, max_length=MAX_BATCH)


def create_app(version_url: str) -> FastAPI:
    """The app for one resolved snapshot version."""
    lookup = Lookup(version_url)
    info = lookup.snapshot_info()
    app = FastAPI(title="opencorpus lookup", version=__version__, docs_url=None, redoc_url=None,
                  description="Is a document in the snapshot, and under what license? By canonical sha256 "
                              "(DESIGN.md) of its original or published text, or by URL.")

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "snapshot": version_url}

    @app.get("/v1/snapshots", tags=["lookup"])
    def snapshots() -> dict[str, Any]:
        """The snapshot this server answers from (corpus, version, manifest digest)."""
        return {"snapshots": [info]}

    @app.get("/v1/documents/{sha256}", tags=["lookup"],
             responses={404: {"description": "no published document has this hash"},
                        422: {"description": "not 64 lowercase hex digits"}})
    def document(sha256: Annotated[str, PathParam(pattern=SHA256_PATTERN,
                                                  description="canonical sha256, 64 lowercase hex digits")]):
        """Every document whose original or published text has this canonical hash; a hash
        that dedup removed answers with its survivor and `duplicate_of`."""
        answer = lookup.by_sha256(sha256)
        return answer if answer["found"] else JSONResponse(answer, status_code=404)

    @app.post("/v1/lookup", tags=["lookup"])
    def batch(request: LookupRequest) -> dict[str, Any]:
        """One answer per hash, then one per URL, in request order (`found` in each)."""
        results = [lookup.by_sha256(h) for h in request.sha256] + [lookup.by_url(u) for u in request.urls]
        return {"snapshot": version_url, "results": results}

    static = resources.files("opencorpus.lookup") / "static"
    for route, name, media_type in PAGE_FILES:
        app.add_api_route(route, _static_file(static.joinpath(name).read_bytes(), media_type),
                          methods=["GET"], include_in_schema=False)
    return app


def _static_file(body: bytes, media_type: str):
    def serve() -> Response:
        return Response(body, media_type=media_type)
    return serve
