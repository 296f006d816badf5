"""Running a recipe, from Python: plan, claim the version, run the Beam pipeline, build the
manifest and cards, publish. `opencorpus run` is a thin layer over `run_recipe`; a notebook or an
Airflow task calls it directly:

    import opencorpus
    result = opencorpus.run_recipe("pipelines/demo.yaml", output="snapshots")
    print(result.version_url, result.digest)

Everything a run can refuse is refused here before any work (RecipeError; the version
published already: VersionExistsError; another run building it: VersionBusyError).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.recipe import STAGE_DEFAULTS, Recipe, RecipeError, load_recipe
from opencorpus.snapshot.claims import Claim
from opencorpus.sources import SourceFile, source_files

# Seconds between a long run's signs of life (a log line, a refreshed claim on its version).
HEARTBEAT = 15.0
log = logging.getLogger("opencorpus")


@dataclass(frozen=True)
class RunResult:
    """A published run: where, its digest (sha256 of manifest.json), and what it recorded."""

    version_url: str
    digest: str
    manifest: dict[str, Any]
    stats: dict[str, Any]
    seconds: float
    stages_cpu: list[dict[str, Any]]


def run_recipe(recipe: Recipe | str, output: str | None = None, *, cache: str | bool = True,
               beam_args: Sequence[str] = ()) -> RunResult:
    """Run a recipe (a Recipe, or the path of its YAML) and publish its snapshot under `output`
    (default: the recipe's output.uri). `cache`: True for the run cache beside the snapshots, a
    URL for one elsewhere, False for none. `beam_args`: Beam pipeline options, e.g.
    ["--runner", "DataflowRunner", ...]; the local FnApiRunner by default."""
    from opencorpus.stages.licenses.discovery import with_license_trees

    recipe = load_recipe(recipe) if isinstance(recipe, str) else recipe
    requested_root = output or recipe.output["uri"]
    check_stores(recipe, requested_root, cache if isinstance(cache, str) else None)
    # The recipe as run: its text trees' license files read now, once, and recorded in the manifest.
    recipe = with_license_trees(recipe)
    files = list_source_files(recipe)
    tokenizer_json = load_named_tokenizer(recipe)
    root = output_root(requested_root, recipe, files)
    cache_url = cache_location(cache, root, files)
    previous = previous_version(recipe)
    version_url, claim = claim_version(root, recipe)
    try:
        return run_claimed(recipe, root, version_url, claim, files, tokenizer_json, list(beam_args), cache_url, previous)
    finally:
        claim.release()


def check_stores(recipe: Recipe, output: str, cache: str | None = None) -> None:
    """Every object store the run reads or writes answers, takes the credentials and has the
    bucket: checked first, in seconds (storage.check_reachable), before any listing or work."""
    for i, spec in enumerate(recipe.sources):
        try:
            storage.check_reachable(recipe.source_uri(spec))
        except OSError as e:  # storage.StoreError, naming the URL
            raise RecipeError(f"{recipe.path}: sources[{i}].uri: {e}") from None
        except (ValueError, ImportError) as e:  # ImportError: the protocol's filesystem is not installed
            raise RecipeError(f"{recipe.path}: sources[{i}].uri: {spec.uri}: {e}") from None
    for what, url in (("output", output), ("--cache", cache)):
        if url is None:
            continue
        try:
            storage.check_reachable(url)
        except OSError as e:
            raise RecipeError(f"{what} {e}") from None
        except (ValueError, ImportError) as e:
            if what == "--cache":
                raise RecipeError(f"--cache {url}: {e}") from None
            # an unknown output protocol: _output_root names it


def list_source_files(recipe: Recipe, offline: bool = False) -> list[SourceFile]:
    """Every source's files; a source matching none is an error unless it is `optional`.

    `offline` (a dry run): a source on an object store is not listed; its URI stands in for its files.
    """
    files = []
    for i, spec in enumerate(recipe.sources):
        uri = recipe.source_uri(spec)
        if offline and storage.is_object_store(uri):
            files.append(SourceFile(spec.name, uri, uri, uri.rstrip("/").rsplit("/", 1)[-1], uri, size=0))
            continue
        try:
            found = source_files(spec, uri, recipe.base_dir)
        except (OSError, ValueError) as e:  # ValueError: fsspec's "Protocol not known"
            raise RecipeError(f"{recipe.path}: sources[{i}].uri: cannot list {spec.uri}: {e}") from None
        if not found and not spec.optional:
            raise RecipeError(f"{recipe.path}: sources[{i}].uri: no files match {spec.uri} (source {spec.name}); "
                              "fix the path, or mark the source `optional: true`")
        if not found:
            log.warning("source %s: no files match %s; it contributes no documents", spec.name, spec.uri)
        files.extend(found)
    return files


def output_root(root: str, recipe: Recipe, files: list[SourceFile], offline: bool = False) -> str:
    """The snapshot root, absolute; refused when a source reads or would read it back as input.

    `offline` (a dry run): nothing on an object store is looked at, and a source there without
    wildcards counts as a folder. The root's protocol must be known and its filesystem installed
    (whether its store answers is check_stores's question).
    """
    if not storage.is_absolute(root):  # relative to where the user runs, shown absolute
        root = os.path.abspath(root)
    try:
        storage.check_protocol(root)
    except (ValueError, ImportError) as e:  # unknown protocol, or its filesystem not installed
        raise RecipeError(f"output {root}: {e}") from None
    for i, spec in enumerate(recipe.sources):
        uri = recipe.source_uri(spec)
        unseen = offline and storage.is_object_store(uri) and not any(ch in uri for ch in "*?[")
        source_root = uri.rstrip("/") if unseen else _tree_root(uri)
        if source_root is not None and _is_within(root, source_root):
            raise RecipeError(f"output {root} is inside the folder of sources[{i}] ({spec.name}: {source_root}): "
                              "the next run would read this snapshot as input; write it elsewhere")
    inside = next((f for f in files if _is_within(f.url, root)), None)
    if inside is not None:
        raise RecipeError(f"output {root}: source {inside.source} reads {inside.display} from inside it, "
                          "i.e. an earlier snapshot as input; write the snapshot elsewhere")
    return root


def cache_location(cache: str | bool, root: str, files: list[SourceFile]) -> str | None:
    """The run cache's URL (None when `cache` is False): `cache` when a URL, else beside the
    snapshots; absolute, and never where a source reads (the next run would read cache entries
    as input)."""
    from opencorpus.cache import default_cache_url

    if cache is False:
        return None
    url = cache if isinstance(cache, str) else default_cache_url(root)
    if not storage.is_absolute(url):
        url = os.path.abspath(url)
    inside = next((f for f in files if _is_within(f.url, url)), None)
    if inside is not None:
        raise RecipeError(f"--cache {url}: source {inside.source} reads {inside.display} from inside it; "
                          "put the cache elsewhere")
    return url


def previous_version(recipe: Recipe):
    """The version an incremental recipe builds on (beam/pipeline.Previous), or None; found and
    read before any work: its manifest digest, document parts and what takedowns removed."""
    from opencorpus.beam.pipeline import Previous
    from opencorpus.snapshot.takedown import earlier_takedowns
    from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot

    url = recipe.previous_url()
    if url is None:
        return None
    try:
        version_url = resolve_snapshot(url)
        manifest = storage.read_bytes(storage.join(version_url, layout.MANIFEST))
        folder = storage.join(version_url, "documents")
        parts = [storage.join(folder, n) for n in storage.list_dir(folder) if n.endswith(".jsonl.zst")]
        taken = earlier_takedowns(version_url)
    except (SnapshotNotFound, OSError) as e:
        raise RecipeError(f"{recipe.path}: previous: {e}") from None
    name = version_url.rstrip("/").rsplit("/", 1)[1]
    log.info("[previous]   %s: %d document parts; %d taken-down hashes stay out", version_url, len(parts), len(taken))
    return Previous(name, hashlib.sha256(manifest).hexdigest(), parts, taken)


def _tree_root(uri: str) -> str | None:
    """The folder a source reads below at any depth: a folder source's own, a `**` glob's base."""
    if "**" in uri:
        return uri[:uri.index("**")].rstrip("/") or "/"
    if any(ch in uri for ch in "*?["):
        return None  # matches at fixed depths: what it reads from the output is caught by the listing check
    try:
        return uri if storage.is_dir(uri) else None
    except (OSError, ValueError):
        return None


def _is_within(path: str, folder: str) -> bool:
    if not storage.is_absolute(folder) or "://" in path or "://" in folder:
        return path.rstrip("/").startswith(folder.rstrip("/") + "/") or path.rstrip("/") == folder.rstrip("/")
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def claim_version(root: str, recipe: Recipe):
    """(version URL, claim): the version to build, claimed before any work; an unwritable root is a usage error."""
    from opencorpus.snapshot.publish import next_version, prepare_version

    try:
        recipe.version = recipe.version or next_version(root, recipe.name)
        return prepare_version(root, recipe.name, recipe.version)
    except OSError as e:
        raise RecipeError(f"output {root}: cannot write the snapshot there: {e}") from None


def load_named_tokenizer(recipe: Recipe) -> str | None:
    """A tokenizer named by the recipe is loaded before any work, so a bad file stops the run early."""
    from opencorpus.stages.tokenize import TokenizerError, load_tokenizer, tokenizer_bytes

    config = recipe.tokenizer
    if config is None or "train" in config:
        return None
    try:
        return tokenizer_bytes(load_tokenizer(config, recipe.base_dir)).decode("utf-8")
    except TokenizerError as e:
        raise RecipeError(f"{recipe.path}: tokenizer: {e}") from None


def run_claimed(recipe: Recipe, root: str, version_url: str, claim: Claim, files: list[SourceFile],
               tokenizer_json: str | None, beam_args: list[str], cache_url: str | None = None,
               previous=None) -> RunResult:
    """Run the pipeline into the claimed version folder, then build the manifest and cards and publish."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    with _Heartbeat(t0, claim):
        return _build_and_publish(recipe, root, version_url, files, tokenizer_json, beam_args, started, t0,
                                  cache_url, previous)


def _build_and_publish(recipe: Recipe, root: str, version_url: str, files: list[SourceFile],
                       tokenizer_json: str | None, beam_args: list[str], started: datetime,
                       t0: float, cache_url: str | None, previous) -> RunResult:
    from opencorpus.beam.cputime import stage_table
    from opencorpus.beam.pipeline import Plan
    from opencorpus.beam.runner import run_plan
    from opencorpus.beam.slices import slices_for_bytes
    from opencorpus.beam.stats import read_digests
    from opencorpus.beam.tokenizer import tokenizer_info
    from opencorpus.cards import with_cards
    from opencorpus.snapshot.manifest import build_manifest
    from opencorpus.snapshot.publish import publish

    log.info("[plan]       %s %s: %d sources, %d files -> %s",
             recipe.name, recipe.version, len(recipe.sources), len(files), version_url)
    # Written by the driver, before the run: the recipe, and a given tokenizer, which the workers read from there.
    first = {layout.RECIPE: storage.write_hashed(storage.join(version_url, layout.RECIPE), recipe.text.encode("utf-8"))}
    tokenizer = None
    if recipe.tokenizer is not None and tokenizer_json is not None:  # named, not trained
        first[layout.TOKENIZER] = storage.write_hashed(storage.join(version_url, layout.TOKENIZER),
                                                       tokenizer_json.encode("utf-8"))
        tokenizer = tokenizer_info(tokenizer_json, recipe.tokenizer, recipe.seed)
    scratch_url = storage.join(version_url, layout.SCRATCH)
    slices = slices_for_bytes(sum(f.size for f in files))  # as listed: no request per file
    try:
        if cache_url is not None:
            log.info("[cache]      %s", cache_url)
        plan = Plan(recipe, files, version_url, tokenizer, scratch_url, slices, cache_url=cache_url,
                    previous=previous)
        runner, cpu, cache = run_plan(plan, beam_args)
        # What the writers hashed as they wrote: the manifest reads no file back.
        written = {**read_digests(scratch_url), **first}
    finally:
        storage.remove_tree(scratch_url)
    pipeline_seconds = time.monotonic() - t0
    stats = json.loads(storage.read_bytes(storage.join(version_url, layout.STATS)))
    for line in stage_lines(stats, recipe):
        log.info("%s", line)
    if cache_url is not None:
        log.info("[cache]      %s", cache_line(cache))
    manifest = with_cards(version_url, build_manifest(version_url, recipe.resolved(), stats, written), stats)
    stages_cpu = stage_table(cpu)
    run_info = {
        "output": root,
        "version_url": version_url,
        "recipe_path": recipe.path,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "seconds": {"pipeline": round(pipeline_seconds, 3), "total": round(time.monotonic() - t0, 3)},
        "host": socket.gethostname(),
        "runner": runner,
        "beam_args": beam_args,
        "stages_cpu": stages_cpu,
        "cache": {"url": cache_url, **cache} if cache_url is not None else None,
    }
    digest = publish(version_url, manifest, run_info)
    log.info("[publish]    %d files, manifest written last; LATEST -> %s", len(manifest["files"]), recipe.version)
    return RunResult(version_url, digest, manifest, stats, time.monotonic() - t0, stages_cpu)


def cache_line(cache: dict[str, int]) -> str:
    """What the run cache gave: files and PII texts taken from it, and those computed (and added)."""
    return (f"files: {cache.get('files_from_cache', 0):,} from the cache, {cache.get('files_read', 0):,} read; "
            f"PII texts: {cache.get('pii_texts_from_cache', 0):,} from the cache, "
            f"{cache.get('pii_texts_redacted', 0):,} redacted")


def stage_lines(stats: dict[str, Any], recipe: Recipe) -> list[str]:
    """One progress line per stage, in pipeline order, from the run's stats."""
    counts = stats["counts"]
    removed, dead = counts["removed"], counts["dead_letter"]
    lines = [f"[ingest]     {counts['input']:,} records from {len(stats['inputs'])} files; "
             f"{sum(dead.get('ingest', {}).values()):,} dead-lettered"]
    stages = (["extract"] if "extract" in removed or "extract" in dead else []) + [
        key for key in STAGE_DEFAULTS if recipe.stage(key) is not None]
    for stage in stages:
        line = f"[{stage}]".ljust(13) + f"{sum(removed.get(stage, {}).values()):,} removed"
        reasons = sorted(removed.get(stage, {}).items(), key=lambda kv: -kv[1])[:3]
        if reasons:
            line += " (" + ", ".join(f"{reason} {n:,}" for reason, n in reasons) + ")"
        if stage in dead:
            line += f"; {sum(dead[stage].values()):,} dead-lettered"
        if stage == "license":
            line += f"; {len(stats['licenses'])} expressions, {stats['licenses'].get('NOASSERTION', 0):,} NOASSERTION"
        if stage == "pii":
            line += f"; {sum(stats['pii'].values()):,} values redacted"
        lines.append(line)
    parts = sum(1 for path in stats["files"] if path.startswith("documents/"))
    lines.append(f"[documents]  {counts['output']:,} documents in {parts} parts")
    if "tokens" in stats:
        tok = stats["tokenizer"]
        lines.append(f"[tokens]     {stats['tokens']['total']:,} tokens ({tok['origin']} tokenizer, "
                     f"vocab {tok['vocab_size']:,}, {tok['dtype']})")
    return lines


class _Heartbeat:
    """Every HEARTBEAT seconds while a run lives: a line, so long runs show life, and a refreshed
    claim, so no other run takes the version folder for a crashed run's leftovers."""

    def __init__(self, start: float, claim: Claim):
        self.start = start
        self.claim = claim
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT):
            log.info("[run]        running, %.0f s", time.monotonic() - self.start)
            try:
                self.claim.refresh()
            except OSError as e:  # the run goes on; only a concurrent run's check could misjudge it
                log.warning("[run]        could not refresh the claim %s: %s", self.claim.url, e)
