"""`opencorpus ...`: the only module that knows every layer.

Exit codes (docs/ARCHITECTURE.md "CLI conventions"): 0 success, 1 failure, 2 usage error, 3 not found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import socket
import sys
import time
from datetime import UTC, datetime
from typing import Any

from opencorpus import __version__, storage
from opencorpus.document import canonical_hash
from opencorpus.formats import layout
from opencorpus.heap import exit_unswept
from opencorpus.recipe import Recipe, RecipeError, load_recipe
from opencorpus.run import RunResult, cache_location, list_source_files, load_named_tokenizer, output_root, run_recipe

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3
SUMMARY_LICENSES = 8  # the summary lists the most frequent; stats.json has them all
log = logging.getLogger("opencorpus")


def split_beam_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(our arguments, Beam's): everything after the first `--` goes to Beam unchanged."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def main(argv: list[str] | None = None) -> int:
    argv, beam_args = split_beam_args(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(argv)
    _configure_logging(args.quiet if hasattr(args, "quiet") else False)
    return args.func(args, beam_args)


def entry_point() -> None:
    """The `opencorpus` program: main() with the process's exit status."""
    exit_unswept(main())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opencorpus", description="Disclosed, reproducible corpus curation.")
    parser.add_argument("--version", action="version", version=f"opencorpus {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a recipe and publish a snapshot",
                         description="Run RECIPE and publish a snapshot; Beam options go after `--`.")
    run.add_argument("recipe", help="recipe YAML (path or fsspec URL)")
    run.add_argument("--output", help="snapshot root URL (overrides the recipe's output.uri)")
    run.add_argument("--quiet", action="store_true", help="only the summary and the snapshot URL")
    cache = run.add_mutually_exclusive_group()
    cache.add_argument("--cache", metavar="URI",
                       help="the run cache: what earlier runs computed, reused and added to (default: <output root>/_cache)")
    cache.add_argument("--no-cache", action="store_true", help="compute everything; read and write no cache")
    run.set_defaults(func=cmd_run)

    verify = sub.add_parser("verify", help="re-hash every file of a snapshot against its manifest")
    verify.add_argument("snapshot", help="a version URL, or a corpus root (resolved through LATEST)")
    verify.add_argument("--public-key", metavar="PREFIX.pub",
                        help="also check that manifest.json.sig signs the manifest with this key")
    verify.set_defaults(func=cmd_verify)

    diff = sub.add_parser("diff", help="documents added, removed and changed between two versions",
                          description="Compare version B with version A: `diff A_URL B_URL` or `diff ROOT A B` "
                                      "(a corpus root and two version names).")
    diff.add_argument("versions", nargs="+", metavar="VERSION")
    diff.add_argument("--json", action="store_true", help="the whole diff as JSON, for tools")
    diff.add_argument("--fail-on-change", action="store_true", help="exit 1 when anything differs")
    diff.set_defaults(func=cmd_diff)

    takedown = sub.add_parser("takedown", help="publish a new version without some documents",
                              description="Remove documents from a snapshot: a new version in which every "
                                          "artifact agrees; the previous version is left as it is. Prints the "
                                          "new version's URL last; exit 3 (nothing published) when nothing matches.")
    takedown.add_argument("--snapshot", required=True, help="a version URL, or a corpus root (resolved through LATEST)")
    takedown.add_argument("--hash", nargs="+", default=[], metavar="SHA256", help="canonical hashes (original or published text)")
    takedown.add_argument("--url", nargs="+", default=[], metavar="URL", help="document URLs")
    takedown.add_argument("--domain", nargs="+", default=[], metavar="HOST", help="every URL on these hosts and below")
    takedown.add_argument("--source", nargs="+", default=[], metavar="NAME", help="every document of these sources")
    takedown.add_argument("--from-file", metavar="FILE", help="hashes and URLs, one per line (# comments)")
    takedown.add_argument("--reason", required=True, help="why (published in removed/ and the manifest: no personal data)")
    takedown.set_defaults(func=cmd_takedown)

    reproduce = sub.add_parser("reproduce", help="rebuild a snapshot from its manifest and compare every file",
                               description="Rebuild the version at VERSION_URL from its manifest (the recipe, every input "
                                           "by sha256, the tokenizer) into a scratch root, as `run --no-cache` would, and "
                                           "compare every file. Every input is checked first: one missing, changed or not "
                                           "in the manifest is named and nothing runs (exit 2). Exit 0 identical, "
                                           "1 different, 3 no snapshot there. Beam options go after `--`.")
    reproduce.add_argument("snapshot", metavar="VERSION_URL", help="a version URL, or a corpus root (resolved through LATEST)")
    reproduce.add_argument("--inputs", metavar="ROOT",
                           help="the folder relative source URIs are taken from, in place of the recipe's folder "
                                "(default: the folder of the recipe the snapshot was run from, as its run.json records "
                                "it, when that exists here; else the current folder)")
    reproduce.add_argument("--scratch", metavar="URL",
                           help="the snapshot root to rebuild into, kept (default: a temporary folder, removed when "
                                "the rebuild is identical)")
    reproduce.set_defaults(func=cmd_reproduce)

    publish = sub.add_parser("publish", help="copy a published version to another root (any fsspec URL) and publish it there",
                             description="Copy the version at VERSION_URL to DEST/<corpus>/<version>/ (DEST: a snapshot "
                                         "root such as s3://bucket/corpora), check every file there against the manifest, "
                                         "then write manifest.json and LATEST (never moved back). Prints the new version's "
                                         "URL last. Exit 1 when the version is published there already (nothing written) "
                                         "or a copied file differs (named; nothing published), 2 for a store that cannot "
                                         "be used, 3 when VERSION_URL holds no published version.")
    publish.add_argument("snapshot", metavar="VERSION_URL", help="a version URL, or a corpus root (resolved through LATEST)")
    publish.add_argument("dest", metavar="DEST", help="the destination snapshot root: the copy goes to DEST/<corpus>/<version>/")
    publish.set_defaults(func=cmd_publish)

    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair for signing snapshots",
                            description="Write PREFIX.key (private, mode 0600) and PREFIX.pub.")
    keygen.add_argument("prefix", metavar="PREFIX")
    keygen.set_defaults(func=cmd_keygen)

    sign = sub.add_parser("sign", help="sign a published snapshot's manifest (writes manifest.json.sig)")
    sign.add_argument("snapshot", help="a version URL, or a corpus root (resolved through LATEST)")
    sign.add_argument("--key", required=True, metavar="PREFIX.key", help="the private key (opencorpus keygen)")
    sign.set_defaults(func=cmd_sign)

    crawl = sub.add_parser("crawl", help="crawl web pages politely into WARC files",
                           description="Crawl from SEED_URLs within a scope, obeying robots.txt, crawl-delay "
                                       "and TDM reservations; writes warc/ and logs/ under --out; "
                                       "run again with the same --out to resume.")
    crawl.add_argument("seeds", nargs="+", metavar="SEED_URL")
    crawl.add_argument("--out", required=True, help="folder or fsspec URL for warc/ and logs/")
    crawl.add_argument("--max-pages", type=int, default=1000)
    crawl.add_argument("--max-depth", type=int, default=10)
    crawl.add_argument("--scope", choices=("host", "prefix"), default="host",
                       help="host: the seeds' hosts (default); prefix: URLs under a seed's folder")
    crawl.add_argument("--include", action="append", default=[], metavar="REGEX", help="only URLs matching")
    crawl.add_argument("--exclude", action="append", default=[], metavar="REGEX", help="never URLs matching")
    crawl.add_argument("--delay", type=float, default=1.0, help="seconds between requests to one host")
    crawl.add_argument("--timeout", type=float, default=30.0, help="seconds per fetch, in total")
    crawl.add_argument("--max-bytes", default="10MB", help="responses larger than this are not archived")
    crawl.add_argument("--allow-private", action="store_true",
                       help="allow private, loopback and link-local addresses (refused by default)")
    crawl.set_defaults(func=cmd_crawl)

    hash_ = sub.add_parser("hash", help="canonical sha256 of each file's text")
    hash_.add_argument("files", nargs="+", metavar="FILE")
    hash_.set_defaults(func=cmd_hash)

    license_ = sub.add_parser("license", help="is a document in a snapshot, and under what license? (JSON)",
                              description="Look up HASH (canonical sha256), FILE (hashed canonically) or an "
                                          "http(s) URL in a snapshot's index; exit 0 found, 3 not found.")
    license_.add_argument("query", metavar="HASH|FILE|URL")
    license_.add_argument("--snapshot", required=True, help="a version URL, or a corpus root (resolved through LATEST)")
    license_.set_defaults(func=cmd_license)

    serve = sub.add_parser("serve", help="HTTP lookup API (OpenAPI at /openapi.json) and web page at /")
    serve.add_argument("--snapshot", required=True, help="a version URL, or a corpus root (resolved through LATEST)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--public-url", help="the snapshot's URL as answers give it (default: corpus/version, "
                                            "never the server's own path to it)")
    serve.set_defaults(func=cmd_serve)
    return parser


def _configure_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    # Beam warns at import that optional Google Cloud clients are missing: irrelevant locally.
    for handler in logging.getLogger().handlers:
        handler.addFilter(lambda record: not record.getMessage().startswith("apitools not found"))
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def _error(message: str, code: int) -> int:
    print(f"opencorpus: error: {message}", file=sys.stderr)
    return code


# ---- run ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.claims import VersionBusyError
    from opencorpus.snapshot.publish import VersionExistsError

    try:
        recipe = load_recipe(args.recipe)
        dry_run_options = _dry_run_options(beam_args)
        if dry_run_options is not None:
            return _dry_run(args, recipe, dry_run_options)
        result = run_recipe(recipe, args.output, cache=_cache_choice(args), beam_args=beam_args)
    except RecipeError as e:
        return _error(str(e), EXIT_USAGE)
    except (VersionExistsError, VersionBusyError) as e:
        return _error(str(e), EXIT_FAILED)
    print_summary(result)
    print(result.version_url)
    return EXIT_OK


def _cache_choice(args: argparse.Namespace) -> str | bool:
    """run_recipe's `cache` from --cache URL / --no-cache."""
    return False if args.no_cache else args.cache or True


# ---- a Dataflow dry run: the job translated and written to a file, offline --------------------

# The version folder a dry run's job writes to when the recipe names none: picking the next vN
# would list the bucket.
DRY_RUN_VERSION = "dry-run"


def _dry_run_options(beam_args: list[str]):
    """Beam's options when they ask for a dry run (`--dry_run=True`), else None; a dry run
    with a runner other than Dataflow's would really run, so it is refused."""
    if not any(arg == "--dry_run" or arg.startswith("--dry_run=") for arg in beam_args):
        return None
    from apache_beam.options.pipeline_options import PipelineOptions

    from opencorpus.beam.dataflow import dry_run_requested, is_dataflow

    options = PipelineOptions(beam_args)
    if not dry_run_requested(options):
        return None
    if not is_dataflow(options):
        raise RecipeError("--dry_run: only the DataflowRunner translates a job without running it "
                          "(add --runner DataflowRunner)")
    return options


def _dry_run(args: argparse.Namespace, recipe: Recipe, options) -> int:
    """Translate the recipe's Dataflow job and write it to `--dataflow_job_file`; print its path.

    Nothing reaches a bucket or the network: local sources are listed and sized as for a run,
    a source on an object store is not listed (its URI stands in for its files), a tokenizer
    file there is not read, the output root is only checked for a known protocol, no version is
    claimed, nothing is written under it and nothing is published or submitted.
    """
    from apache_beam.options.pipeline_options import DebugOptions

    from opencorpus.beam.dataflow import DataflowSetupError, dry_run
    from opencorpus.beam.pipeline import Plan
    from opencorpus.beam.slices import slices_for_bytes
    from opencorpus.snapshot.publish import version_url as version_url_of
    from opencorpus.stages.licenses.discovery import with_license_trees

    if recipe.previous is not None:
        raise RecipeError(f"{recipe.path}: previous: a dry run reads no bucket, and an incremental run must read "
                          "the previous version; dry-run the recipe without `previous`")
    recipe = with_license_trees(recipe)  # the license stage as the job would run it
    files = list_source_files(recipe, offline=True)
    unlisted = [f.url for f in files if storage.is_object_store(f.url)]
    tokenizer, tokenizer_unread = _dry_run_tokenizer(recipe)
    root = output_root(args.output or recipe.output["uri"], recipe, files, offline=True)
    recipe.version = recipe.version or DRY_RUN_VERSION
    version_url = version_url_of(root, recipe.name, recipe.version)
    slices = slices_for_bytes(sum(f.size for f in files))
    cache_url = cache_location(_cache_choice(args), root, files)
    plan = Plan(recipe, files, version_url, tokenizer, storage.join(version_url, layout.SCRATCH), slices,
                cache_url=cache_url)
    job_file = options.view_as(DebugOptions).dataflow_job_file or f"{recipe.name}.dataflow-job.json"
    log.info("[dry run]    %s %s: %d sources, %d files -> %s (not written)", recipe.name, recipe.version,
             len(recipe.sources), len(files), version_url)
    for uri in unlisted:
        log.info("[dry run]    not listed (on an object store): %s", uri)
    notes = {"dry_run": True, "recipe": recipe.name, "version": recipe.version, "version_url": version_url,
             "sources_not_listed": unlisted, "tokenizer_not_read": tokenizer_unread, "slices": slices,
             "cache": cache_url}
    try:
        path = dry_run(plan, options, job_file, notes)
    except DataflowSetupError as e:
        raise RecipeError(str(e)) from None
    log.info("[dry run]    job translated, not submitted; nothing was read from or written to %s", root)
    print(path)
    return EXIT_OK


def _dry_run_tokenizer(recipe: Recipe) -> tuple[dict[str, Any] | None, str | None]:
    """(the facts the graph carries of a given tokenizer, URL not read): a tokenizer file on an
    object store is not read in a dry run; stand-in facts keep the graph that of the job (a
    loaded tokenizer, not a trained one). Nothing is written: the run writes the file first."""
    from opencorpus.beam.tokenizer import tokenizer_info

    config = recipe.tokenizer
    if config is None or "train" in config:
        return None, None
    urls = [config[key] if storage.is_absolute(config[key]) else storage.join(recipe.base_dir, config[key])
            for key in ("path", "vocab", "merges") if isinstance(config.get(key), str)]
    remote = next((url for url in urls if storage.is_object_store(url)), None)
    if remote is not None:
        return {"file": layout.TOKENIZER, "sha256": None, "config": config, "not_read": remote}, remote
    tokenizer_json = load_named_tokenizer(recipe)
    assert tokenizer_json is not None  # a tokenizer named, not trained
    return tokenizer_info(tokenizer_json, config, recipe.seed), None


def print_summary(result: RunResult) -> None:
    """The summary table a user reads after a run."""
    stats, seconds = result.stats, result.seconds
    counts = stats["counts"]
    rows: list[tuple[str, str]] = [
        ("documents in", f"{counts['input']:,}"),
        ("documents out", f"{counts['output']:,}"),
    ]
    for kind in ("removed", "dead_letter"):
        for stage, reasons in sorted(counts[kind].items()):
            for reason, n in sorted(reasons.items()):
                rows.append((f"{kind.replace('_', '-')} {stage}/{reason}", f"{n:,}"))
    for entity, n in sorted(stats["pii"].items()):
        rows.append((f"pii {entity}", f"{n:,}"))
    licenses = sorted(stats["licenses"].items(), key=lambda kv: (-kv[1], kv[0]))
    for license, n in licenses[:SUMMARY_LICENSES]:
        rows.append((f"license {license}", f"{n:,}"))
    if len(licenses) > SUMMARY_LICENSES:
        rest = licenses[SUMMARY_LICENSES:]
        rows.append((f"license: {len(rest)} more expressions", f"{sum(n for _, n in rest):,}"))
    if "tokens" in stats:
        rows.append(("tokens", f"{stats['tokens']['total']:,}"))
    for row in result.stages_cpu:
        rows.append((f"cpu {row['stage']}", f"{row['cpu_seconds']:,.1f} s ({row['share']:.0%})"))
    rows.append(("wall time", f"{seconds:.1f} s ({counts['input'] / max(seconds, 1e-9):,.1f} documents/s)"))
    rows.append(("snapshot digest", result.digest))
    width = max(len(k) for k, _ in rows)
    print(f"\n{'summary':<{width}}  value\n{'-' * width}  {'-' * 5}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print()


# ---- verify and hash ---------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.verify import SnapshotNotFound, verify

    try:
        report = verify(args.snapshot)
    except SnapshotNotFound as e:
        return _error(str(e), EXIT_NOT_FOUND)
    except storage.StoreError as e:
        return _error(str(e), EXIT_USAGE)
    signer = None
    if args.public_key is not None:
        from opencorpus.snapshot.signing import SigningError, check_signature, load_public_key

        try:
            signer = check_signature(report.version_url, load_public_key(args.public_key))
        except SigningError as e:
            report.mismatches.insert(0, f"signature: {e}")
    for line in report.mismatches:
        print(f"MISMATCH {line}")
    for path in report.missing:
        print(f"MISSING  {path}")
    for path in report.unlisted:
        print(f"UNLISTED {path}")
    status = "OK" if report.ok else "FAILED"
    signed = f"; signed by key {signer[:16]}…" if signer is not None and report.ok else ""
    print(f"{status}: {report.checked} files checked in {report.version_url} (digest {report.digest}){signed}")
    return EXIT_OK if report.ok else EXIT_FAILED


# Rows of each list the table shows; --json has them all.
DIFF_ROWS = 20


def cmd_diff(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.diff import diff_versions
    from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot

    if len(args.versions) not in (2, 3):
        return _error("diff takes two version URLs, or a corpus root and two version names", EXIT_USAGE)
    urls = args.versions if len(args.versions) == 2 else [storage.join(args.versions[0], v) for v in args.versions[1:]]
    try:
        a_url, b_url = (resolve_snapshot(u) for u in urls)
        result = diff_versions(a_url, b_url)
    except SnapshotNotFound as e:
        return _error(str(e), EXIT_NOT_FOUND)
    except storage.StoreError as e:
        return _error(str(e), EXIT_USAGE)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        _print_diff(result)
    return EXIT_FAILED if args.fail_on_change and result.changes else EXIT_OK


def _print_diff(result) -> None:
    docs = result.documents
    print(f"A {result.a}\nB {result.b}")
    print(f"documents: {docs['added']:,} added, {docs['removed']:,} removed, {docs['changed']:,} changed, "
          f"{docs['unchanged']:,} unchanged")
    for name, kinds in sorted(result.by_source.items()):
        print(f"  source {name}: +{kinds['added']:,} -{kinds['removed']:,} ~{kinds['changed']:,}")
    for name, kinds in sorted(result.by_license.items()):
        print(f"  license {name}: +{kinds['added']:,} -{kinds['removed']:,} ~{kinds['changed']:,}")
    for reason, n in result.removed_by_reason.items():
        print(f"  removed {reason}: {n:,}")
    if result.tokens:
        t = result.tokens
        print(f"tokens: {t['a']:,} -> {t['b']:,} ({t['delta']:+,})")
        for name, delta in sorted(t.get("by_source", {}).items()):
            print(f"  source {name}: {delta:+,}")
    for sign, rows, describe in (("+", result.added, lambda r: f"{r['source']}, {r['license']}"),
                                 ("-", result.removed, lambda r: r["reason"] or "not in B's input"),
                                 ("~", result.changed, lambda r: f"{r['sha256_a'][:12]} -> {r['sha256_b'][:12]}")):
        for row in rows[:DIFF_ROWS]:
            print(f"{sign} {row['id']}  ({describe(row)})")
        if len(rows) > DIFF_ROWS:
            print(f"{sign} … {len(rows) - DIFF_ROWS:,} more (--json lists every one)")


def cmd_takedown(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot import takedown as td
    from opencorpus.snapshot.claims import VersionBusyError
    from opencorpus.snapshot.publish import VersionExistsError, next_version
    from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot

    started, t0 = datetime.now(UTC), time.monotonic()
    try:
        lines = td.takedown_file_lines(args.from_file) if args.from_file else []
        selector = td.selector_from(args.hash, args.url, args.domain, args.source, lines)
        previous_url = resolve_snapshot(args.snapshot)
    except td.TakedownInputError as e:
        return _error(str(e), EXIT_USAGE)
    except SnapshotNotFound as e:
        return _error(str(e), EXIT_NOT_FOUND)
    except OSError as e:  # an unreadable list, an unreachable store
        return _error(str(e), EXIT_USAGE)
    located = td.locate(previous_url, selector)
    count = sum(len(lines) for lines in located.values())
    if not count:
        return _error(f"no document of {previous_url} matches {json.dumps(selector.describe())}; nothing published",
                      EXIT_NOT_FOUND)
    previous_manifest = storage.read_bytes(storage.join(previous_url, layout.MANIFEST))
    request = td.request_id(hashlib.sha256(previous_manifest).hexdigest(), selector, args.reason)
    root, corpus = previous_url.rstrip("/").rsplit("/", 1)[0].rsplit("/", 1)
    log.info("[takedown]   %d documents of %s (request %s)", count, previous_url, request)
    try:
        version_url, digest, taken = td.publish_takedown(
            previous_url, next_version(root, corpus), located, args.reason, request,
            {"started": started.isoformat(), "host": socket.gethostname()})
    except (VersionExistsError, VersionBusyError) as e:
        return _error(str(e), EXIT_FAILED)
    for d in taken:
        print(f"- {d.id} ({d.source})")
    print(f"{count} documents taken down (request {request}) in {time.monotonic() - t0:.1f} s; digest {digest}")
    print(version_url)
    return EXIT_OK


def cmd_reproduce(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.claims import VersionBusyError
    from opencorpus.snapshot.publish import VersionExistsError
    from opencorpus.snapshot.reproduce import InputsDiffer, SnapshotDamaged, reproduce
    from opencorpus.snapshot.verify import SnapshotNotFound

    def rebuild(recipe: Recipe, scratch: str) -> str:
        """`opencorpus run --no-cache` of the snapshot's recipe into the scratch root; the version's URL."""
        return run_recipe(recipe, scratch, cache=False, beam_args=beam_args).version_url

    try:
        result = reproduce(args.snapshot, rebuild, inputs=args.inputs, scratch=args.scratch)
    except SnapshotNotFound as e:
        return _error(str(e), EXIT_NOT_FOUND)
    except InputsDiffer as e:
        print("\n".join(e.problems))
        return _error(str(e), EXIT_USAGE)
    except (RecipeError, VersionExistsError, VersionBusyError, storage.StoreError) as e:
        return _error(str(e), EXIT_USAGE)
    except SnapshotDamaged as e:
        return _error(str(e), EXIT_FAILED)
    print("\n".join(result.report()))
    return EXIT_OK if result.identical else EXIT_FAILED


def cmd_publish(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.claims import VersionBusyError
    from opencorpus.snapshot.mirror import CopyMismatch, DestinationOverlaps, SourceDamaged, publish_copy
    from opencorpus.snapshot.publish import VersionExistsError
    from opencorpus.snapshot.verify import SnapshotNotFound

    for url in (args.snapshot, args.dest):
        try:
            storage.check_protocol(url)
        except (ValueError, ImportError) as e:  # an unknown protocol, or its filesystem not installed
            return _error(f"{url}: {e}", EXIT_USAGE)
    try:
        version_url = publish_copy(args.snapshot, args.dest)
    except SnapshotNotFound as e:
        return _error(str(e), EXIT_NOT_FOUND)
    except (DestinationOverlaps, storage.StoreError) as e:
        return _error(str(e), EXIT_USAGE)
    except (VersionExistsError, VersionBusyError, SourceDamaged, CopyMismatch) as e:
        return _error(str(e), EXIT_FAILED)
    except OSError as e:  # a source file gone, a write refused: the destination holds no version
        return _error(f"the copy failed, nothing published: {e}", EXIT_FAILED)
    print(version_url)
    return EXIT_OK


def cmd_keygen(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.signing import keygen

    try:
        private, public = keygen(args.prefix)
    except OSError as e:  # FileExistsError: never overwrite a key
        return _error(str(e), EXIT_USAGE)
    print(f"private key: {private} (keep it secret; mode 0600)")
    print(f"public key:  {public} (publish it; `opencorpus verify SNAPSHOT --public-key {public}`)")
    return EXIT_OK


def cmd_sign(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.snapshot.signing import SigningError, load_private_key, sign
    from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot

    try:
        key = load_private_key(args.key)
        version_url = resolve_snapshot(args.snapshot)
    except SigningError as e:
        return _error(str(e), EXIT_USAGE)
    except SnapshotNotFound as e:
        return _error(str(e), EXIT_NOT_FOUND)
    except storage.StoreError as e:
        return _error(str(e), EXIT_USAGE)
    try:
        url = sign(version_url, key)
    except FileExistsError:
        return _error(f"{version_url} is signed already ({layout.SIGNATURE}); remove it to sign again", EXIT_FAILED)
    print(url)
    return EXIT_OK


def cmd_crawl(args: argparse.Namespace, beam_args: list[str]) -> int:
    import re

    from opencorpus.recipe import parse_size
    from opencorpus.sources.crawl import CrawlConfig, crawl, normalize_url
    from opencorpus.sources.crawl.policy import Scope

    try:
        seeds = [normalize_url(s) for s in args.seeds]
        max_bytes = parse_size(args.max_bytes, "--max-bytes")
        include = [re.compile(p) for p in args.include]
        exclude = [re.compile(p) for p in args.exclude]
    except (ValueError, re.error) as e:
        return _error(str(e), EXIT_USAGE)
    hosts = {s.split("/")[2] for s in seeds}
    prefixes = [s.rsplit("/", 1)[0] + "/" for s in seeds] if args.scope == "prefix" else []
    config = CrawlConfig(seeds=seeds, out=args.out, max_pages=args.max_pages, max_depth=args.max_depth,
                         delay=args.delay, timeout=args.timeout, max_bytes=max_bytes,
                         allow_private=args.allow_private,
                         scope=Scope(hosts=hosts, prefixes=prefixes, include=include, exclude=exclude))
    report = crawl(config)
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(report.skipped.items())) or "none"
    print(f"fetched {report.fetched} (earlier sessions {report.resumed}); skipped: {skipped}")
    print(f"log: {report.log}")
    print(report.warc)
    return EXIT_OK


def cmd_hash(args: argparse.Namespace, beam_args: list[str]) -> int:
    code = EXIT_OK
    for path in args.files:
        try:
            digest = canonical_hash(storage.read_bytes(path))
        except FileNotFoundError:
            code = max(code, _error(f"{path}: no such file", EXIT_NOT_FOUND))
            continue
        except UnicodeDecodeError as e:
            code = max(code, _error(f"{path}: invalid UTF-8 at byte {e.start}", EXIT_FAILED))
            continue
        print(f"{digest}  {path}")
    return code


# ---- license lookup and the lookup server --------------------------------------------------


def _open_lookup(snapshot: str):
    """(Lookup, None) for a snapshot URL, or (None, exit code) after printing why not."""
    from opencorpus.formats.index import IndexDamaged
    from opencorpus.lookup.reader import Lookup
    from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot

    try:
        return Lookup(resolve_snapshot(snapshot)), None
    except SnapshotNotFound as e:
        return None, _error(str(e), EXIT_NOT_FOUND)
    except IndexDamaged as e:
        return None, _error(str(e), EXIT_FAILED)
    except storage.StoreError as e:
        return None, _error(str(e), EXIT_USAGE)


def cmd_license(args: argparse.Namespace, beam_args: list[str]) -> int:
    from opencorpus.formats.index import IndexDamaged
    from opencorpus.lookup.reader import BadQuery, parse_query

    try:
        kind, value = parse_query(args.query)
    except BadQuery as e:
        return _error(str(e), EXIT_USAGE)
    except UnicodeDecodeError as e:
        return _error(f"{args.query}: invalid UTF-8 at byte {e.start}: no canonical hash", EXIT_FAILED)
    lookup, code = _open_lookup(args.snapshot)
    if lookup is None:
        return code
    try:
        answer = lookup.query(kind, value)
    except IndexDamaged as e:
        return _error(str(e), EXIT_FAILED)
    print(json.dumps(answer, indent=2, sort_keys=True, ensure_ascii=False))
    return EXIT_OK if answer["found"] else EXIT_NOT_FOUND


def cmd_serve(args: argparse.Namespace, beam_args: list[str]) -> int:
    import uvicorn

    from opencorpus.lookup.limits import server_config
    from opencorpus.lookup.server import create_app

    lookup, code = _open_lookup(args.snapshot)
    if lookup is None:
        return code
    log.info("serving %s on http://%s:%d/ (OpenAPI: /openapi.json)", lookup.version_url, args.host, args.port)
    # server_config: header and body deadlines, body size and connection limits (lookup/limits.py).
    app = create_app(lookup.version_url, public_url=args.public_url)
    uvicorn.Server(server_config(app, host=args.host, port=args.port)).run()
    return EXIT_OK


if __name__ == "__main__":
    entry_point()
