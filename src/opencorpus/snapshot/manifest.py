"""Build, validate and serialize a snapshot manifest (docs/ARCHITECTURE.md "Snapshot layout").

The manifest holds nothing that depends on where or when the run happened (those facts go
to run.json), and every path in it is relative, so a rebuild of the same recipe on the same
inputs records byte-identical manifest bytes and a mirrored snapshot still verifies.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from opencorpus import __version__, storage
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json

SCHEMA_ID = "opencorpus.manifest/v1"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "manifests" / "schema" / "manifest-v1.schema.json"
if not SCHEMA_PATH.is_file():  # editable install: the repo's top-level manifests/schema/
    SCHEMA_PATH = Path(__file__).resolve().parents[3] / "manifests" / "schema" / "manifest-v1.schema.json"
# opencorpus's declared dependencies that cannot change a snapshot's bytes; every other one is
# recorded (environment()), so a dependency added to pyproject.toml is recorded unless named here.
NOT_SHAPING = {
    "s3fs": "a storage client: moves bytes, never changes them",
    "gcsfs": "a storage client: moves bytes, never changes them",
    "fastapi": "the lookup server",
    "uvicorn": "the lookup server",
    "cryptography": "signatures, made over the manifest after it",
    "certifi": "the crawler's TLS trust store: a crawl's WARC is an input, recorded by sha256",
    "jsonschema": "checks the manifest, never changes it",
}
# Dependencies of dependencies that decide what a document becomes: Presidio's e-mail check
# (tldextract's bundled suffix list) and trafilatura's HTML parser.
SHAPING_INDIRECTLY = ("lxml", "tldextract")
# Stats keys per file that the manifest records next to sha256 and bytes.
FILE_STATS = ("documents", "tokens")


class CountMismatchError(RuntimeError):
    """Documents were lost or invented: input != output + removed + dead-lettered."""


class ManifestError(ValueError):
    """A manifest that does not match the schema, or stats that do not match the files."""


def environment(recipe: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, str | None]]:
    """(code, dependencies): opencorpus's version and the version of each distribution that shapes
    a snapshot made with `recipe` (None when absent), sorted: its declared dependencies less
    NOT_SHAPING, SHAPING_INDIRECTLY, and the spaCy model the recipe's pii stage loads."""
    deps: dict[str, str | None] = {}
    for name in sorted(shaping_distributions(recipe or {})):
        try:
            deps[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            deps[name] = None
    return {"opencorpus": __version__}, deps


def shaping_distributions(recipe: dict[str, Any]) -> set[str]:
    """The names environment() records for a resolved recipe."""
    declared = {canonicalize_name(Requirement(r).name) for r in importlib.metadata.requires("opencorpus") or []
                if "extra ==" not in r}
    names = (declared - set(NOT_SHAPING)) | set(SHAPING_INDIRECTLY)
    pii = (recipe.get("stages") or {}).get("pii")
    if pii and "/" not in pii.get("nlp_model", ""):  # a model folder is not a distribution
        names.add(canonicalize_name(pii["nlp_model"]))
    return names


def check_counts(counts: dict[str, Any]) -> None:
    """Raise CountMismatchError unless every input document is accounted for."""
    removed = sum(n for reasons in counts["removed"].values() for n in reasons.values())
    dead = sum(n for reasons in counts["dead_letter"].values() for n in reasons.values())
    if counts["input"] != counts["output"] + removed + dead:
        raise CountMismatchError(
            f"document counts do not add up: input {counts['input']} != output {counts['output']}"
            f" + removed {removed} + dead_letter {dead} (= {counts['output'] + removed + dead})"
        )


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(storage.read_bytes(str(SCHEMA_PATH)))


def problems(manifest: Any) -> list[str]:
    """Everything wrong with a manifest's structure, each naming the field; [] when valid."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    found = [f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
             for e in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))]
    if not found:
        # Order and uniqueness are part of the byte-identical contract but not expressible in the schema.
        paths = [f["path"] for f in manifest["files"]]
        if paths != sorted(set(paths)):
            found.append("files: paths must be unique and sorted")
    return found


def read_manifest(version_url: str) -> tuple[bytes, dict[str, Any]]:
    """A published version's manifest.json: its bytes (the digest and a signature are over them)
    and its content; ManifestError naming the file unless it is JSON that matches the schema."""
    url = storage.join(version_url, layout.MANIFEST)
    data = storage.read_bytes(url)
    try:
        manifest = json.loads(data)
    except ValueError as e:
        raise ManifestError(f"{url}: not valid JSON: {e}") from None
    found = problems(manifest)
    if found:
        raise ManifestError(f"{url}: " + "; ".join(found))
    return data, manifest


def build_manifest(version_url: str, recipe: dict[str, Any], stats: dict[str, Any],
                   written: Mapping[str, storage.Digest] | None = None) -> dict[str, Any]:
    """The manifest of the version folder at `version_url`, from the resolved recipe and stats.json.

    Lists every file there except manifest.json and run.json. `written`: the digest of each
    file its writer reported, hashed from the bytes as they were written; only the files no
    writer reported are read and hashed here (see file_digests). Raises CountMismatchError
    when counts do not add up and ManifestError when stats name a file that is not there,
    the reported digests do not fit the listing, or the result does not match the schema.
    """
    version = posixpath.basename(version_url.rstrip("/"))
    if recipe.get("version") not in (None, version):
        raise ManifestError(f"{version_url}: the recipe declares version {recipe['version']!r}"
                            f" but the folder is {version!r}")
    check_counts(stats["counts"])
    listed = {p: size for p, size in storage.list_file_sizes(version_url).items() if p not in layout.UNLISTED}
    file_stats = stats.get("files", {})
    absent = sorted(set(file_stats) - set(listed))
    if absent:
        raise ManifestError(f"{version_url}: stats.json lists files that are not there: {', '.join(absent)}")
    files = []
    for path, (sha256, size) in file_digests(version_url, listed, written or {}).items():
        extra = {k: v for k, v in file_stats.get(path, {}).items() if k in FILE_STATS}
        files.append({"path": path, "sha256": sha256, "bytes": size, **extra})
    code, dependencies = environment(recipe)
    manifest = {
        "schema": SCHEMA_ID,
        "corpus": recipe["name"],
        "version": version,
        "date": recipe["date"],
        "recipe": recipe,
        "code": code,
        "dependencies": dependencies,
        "tokenizer": stats.get("tokenizer"),
        "files": files,
        "counts": stats["counts"],
        "pii": stats.get("pii", {}),
        "licenses": stats.get("licenses", {}),
        "sources": stats["sources"],
        "tokens": stats.get("tokens"),
        "inputs": stats["inputs"],
    }
    for optional in ("takedowns", "previous"):
        if stats.get(optional):
            manifest[optional] = stats[optional]
    found = problems(manifest)
    if found:
        raise ManifestError(f"{version_url}: manifest does not match {SCHEMA_PATH.name}: " + "; ".join(found))
    return manifest


def file_digests(version_url: str, listed: dict[str, int],
                 written: Mapping[str, storage.Digest]) -> dict[str, storage.Digest]:
    """The digest of every listed file (path -> size as listed), in the listing's order: the
    one its writer reported, else read and hashed here.

    ManifestError when a reported file is not listed, or is listed with another size than was
    written (changed since: cut short, or written again by someone else): the listing gives
    sizes for free. A wrong digest of the right size is left to `opencorpus verify`, which
    re-hashes every file.
    """
    gone = sorted(set(written) - set(listed))
    if gone:
        raise ManifestError(f"{version_url}: files reported as written are not there: {', '.join(gone)}")
    resized = [f"{path} (written {written[path].bytes} bytes, listed {listed[path]})"
               for path in sorted(written) if written[path].bytes != listed[path]]
    if resized:
        raise ManifestError(f"{version_url}: files changed since they were written: {', '.join(resized)}")
    return {path: written[path] if path in written else _hashed(version_url, path) for path in listed}


def _hashed(version_url: str, path: str) -> storage.Digest:
    """A listed file's digest, read and hashed; ManifestError when it went since the listing."""
    try:
        return storage.Digest(*storage.file_digest(storage.join(version_url, path)))
    except FileNotFoundError:
        raise ManifestError(f"{version_url}: {path} was listed but is not there, and no writer reported "
                            "its digest") from None


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The bytes of manifest.json; their sha256 is the snapshot digest."""
    return canonical_json(manifest)
