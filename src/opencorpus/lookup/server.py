"""The read-only HTTP API (FastAPI, OpenAPI at /openapi.json) and the web page at `/`.

Every hash is checked against 64 lowercase hex digits before any file is touched, URLs are
normalized while the request is validated and hashed before they name a shard, and the page's
files are fixed names read once from `static/`: no request can name a path, so nothing outside
the snapshot's index is readable. Swagger's /docs is off: it loads its JavaScript from a CDN,
and nothing is downloaded here.

What a client sends never comes back: a 422 says where and why, not what (limits.py bounds
the body). What the server knows of itself stays too: answers name the snapshot by the URL
the operator published it at, or by corpus/version, never by its path on the server's disk;
and no URL is built from the Host header (no trailing-slash redirects, which would).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from opencorpus import __version__
from opencorpus.document import normalize_url
from opencorpus.lookup.limits import DEFAULTS, BodyLimit, Limits
from opencorpus.lookup.reader import Lookup, read_manifest

SHA256_PATTERN = r"^[0-9a-f]{64}$"
MAX_BATCH = 1000
BAD_URL = "not a URL that can be normalized (needs a scheme, a valid host name or IP literal, a port in 0-65535)"
# (route, file in static/, media type)
PAGE_FILES = (("/", "index.html", "text/html; charset=utf-8"),
              ("/app.js", "app.js", "text/javascript; charset=utf-8"),
              ("/style.css", "style.css", "text/css; charset=utf-8"))


def _normalized(url: str) -> str:
    """normalize_url, with an error that quotes no part of the URL (a 422 never echoes input)."""
    try:
        return normalize_url(url)
    except ValueError:
        raise ValueError(BAD_URL) from None


Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=8192, pattern=r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]+"),
                AfterValidator(_normalized)]


class LookupRequest(BaseModel):
    """A batch: canonical hashes and/or page URLs (normalized before lookup)."""

    sha256: list[Sha256] = Field(default_factory=list, max_length=MAX_BATCH)
    urls: list[Url] = Field(default_factory=list, max_length=MAX_BATCH)


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description='where, e.g. ["body", "urls", 3] for the fourth URL')
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """A 422: each malformed part of the request by place and reason; values are never repeated."""

    detail: list[ErrorItem]


class Refusal(BaseModel):
    detail: str


def create_app(version_url: str, public_url: str | None = None, limits: Limits = DEFAULTS) -> FastAPI:
    """The app for one resolved snapshot version; `public_url` is what answers call it (by
    default corpus/version: the server's path to it is nobody else's business)."""
    manifest = read_manifest(version_url)[1]
    label = public_url or f"{manifest['corpus']}/{manifest['version']}"
    lookup = Lookup(version_url, label)
    info = lookup.snapshot_info()
    app = FastAPI(title="opencorpus lookup", version=__version__, docs_url=None, redoc_url=None,
                  redirect_slashes=False,
                  description="Is a document in the snapshot, and under what license? By canonical sha256 "
                              "of its original or published text, or by URL.")
    app.add_middleware(BodyLimit, max_bytes=limits.body_bytes, seconds=limits.body_seconds)
    app.exception_handler(RequestValidationError)(_validation_error)
    invalid = {"model": ValidationErrors}

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "snapshot": label}

    @app.get("/v1/snapshots", tags=["lookup"])
    def snapshots() -> dict[str, Any]:
        """The snapshot this server answers from (corpus, version, manifest digest)."""
        return {"snapshots": [info]}

    @app.get("/v1/documents/{sha256}", tags=["lookup"],
             responses={404: {"description": "no published document has this hash"},
                        422: {**invalid, "description": "not 64 lowercase hex digits"}})
    def document(sha256: Annotated[str, PathParam(pattern=SHA256_PATTERN,
                                                  description="canonical sha256, 64 lowercase hex digits")]):
        """Every document whose original or published text has this canonical hash; a hash
        that dedup removed answers with its survivor and `duplicate_of`."""
        answer = lookup.by_sha256(sha256)
        return answer if answer["found"] else JSONResponse(answer, status_code=404)

    @app.post("/v1/lookup", tags=["lookup"],
              responses={400: {"model": Refusal, "description": "a body that is not UTF-8"},
                         408: {"model": Refusal, "description": f"body not received in {limits.body_seconds:g} s"},
                         413: {"model": Refusal, "description": f"body over {limits.body_bytes} bytes"},
                         422: {**invalid, "description": f"not JSON, over {MAX_BATCH} hashes or URLs, a hash "
                                                         "that is not 64 lowercase hex digits or a URL that "
                                                         "cannot be normalized; the whole batch is refused"}})
    def batch(request: LookupRequest) -> dict[str, Any]:
        """One answer per hash, then one per URL, in request order (`found` in each)."""
        results = [lookup.by_sha256(h) for h in request.sha256] + [lookup.by_url(u) for u in request.urls]
        return {"snapshot": label, "results": results}

    static = resources.files("opencorpus.lookup") / "static"
    for route, name, media_type in PAGE_FILES:
        app.add_api_route(route, _static_file(static.joinpath(name).read_bytes(), media_type),
                          methods=["GET"], include_in_schema=False)
    return app


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Where and why of each error, never the input: it may be megabytes, or hold what JSON
    cannot carry back (NaN, a lone surrogate)."""
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def _static_file(body: bytes, media_type: str):
    def serve() -> Response:
        return Response(body, media_type=media_type)
    return serve
