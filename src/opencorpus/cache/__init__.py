"""The run cache: what the expensive per-document stages made, kept between runs.

A run with a cache (`opencorpus run --cache URI`; by default `<output root>/_cache`) takes from
it what an earlier run already computed for the same inputs, options and code, and adds what
it computes. The cache never changes a snapshot's bytes: an entry holds exactly what the
stages would make again, under a key that covers everything that shapes it.

    <cache>/files/<key[:2]>/<key>.jsonl.zst
        per input file (cache/files.py): every outcome of reading it and of the stages before
        dedup (extract, license, language, quality). Key: the file's sha256, its source's
        settings, its name, the recipe date, those stages' options, the PII options (record
        identifiers are redacted as they are read) and the code fingerprint.
    <cache>/redactions/<fingerprint>/<lo>-<hi>-<id>.jsonl.zst
        the PII stage's results by the digest of each text it redacted (cache/redactions.py),
        in packs by range [lo, hi) of the shard-key space, as slices write them. Fingerprint:
        the PII options and the code fingerprint. A slice reads only the packs over its range,
        whatever the slicing of the run that wrote them.

Entries are checked files (formats/checked.py): one cut short or changed is recomputed (and
rewritten), never trusted. Every file is written whole or not at all, and two runs writing one
key write the same bytes, so a cache folder may be shared by recipes and concurrent runs.
A file's key is its content's, so a run killed midway finds what it finished when started
again, and a recipe with one more source reprocesses only that source's files.
"""

from __future__ import annotations

from opencorpus import storage

CACHE_FOLDER = "_cache"


def default_cache_url(output_root: str) -> str:
    return storage.join(output_root, CACHE_FOLDER)
