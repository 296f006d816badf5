"""Near-dedup benchmark: opencorpus NearDedup (Beam, FnApiRunner) beside datatrove's MinHash.

On <corpora>/near-dup (docs.jsonl.zst + pairs.jsonl, the exact-Jaccard truth), at 1x, 2x and
4x size, prints precision and recall of the documents each system removes, wall time and peak
memory. Both systems get the same shingles (opencorpus's xxh64 of corpuslib's 5-word
shingles), the same seeded permutations and the same bands x rows, on one core each (Beam
in_memory, datatrove workers=1), and each runs in its own subprocess so its peak RSS is its own.

Copy c of the corpus (c >= 1) suffixes every word with `_c` and every id with `#c`: a small
edit that keeps each copy's pairwise Jaccard values and shares no shingle with other copies,
so the truth at k x is k disjoint copies of the 1x truth.

Rows: opencorpus (recipe defaults: exact Jaccard check on), oc-noverify (the same without the
check: datatrove's amount of work) and datatrove.

Scoring ignores which member survives: a truth cluster of size s should lose exactly s - 1
documents; true positives are min(removed in it, s - 1) summed over clusters.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARTS = 4  # input files per size: datatrove's per-file tasks and Beam's reads both see 4
SLICES = 16  # the fewest a run cuts the key space into (beam/slices.py)
# "oc-noverify" is opencorpus with verify: false: the same work as datatrove (no exact Jaccard check).
SYSTEMS = ("opencorpus", "oc-noverify", "datatrove")


def options() -> dict:
    """The recipe's default near_dedup options, resolved exactly as a run resolves them."""
    from opencorpus.recipe import resolve_stage_options

    return resolve_stage_options("near_dedup")


def read_corpus(corpora: Path) -> list[dict]:
    raw = subprocess.run(["zstd", "-dcq", str(corpora / "near-dup" / "docs.jsonl.zst")], check=True,
                         capture_output=True).stdout.decode("utf-8")
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def edited(record: dict, copy: int) -> dict:
    if copy == 0:
        return {"id": record["id"], "text": record["text"]}
    return {"id": f"{record['id']}#{copy}", "text": re.sub(r"\w+", lambda m: f"{m.group(0)}_{copy}", record["text"])}


def write_input(records: list[dict], copies: int, folder: Path) -> int:
    folder.mkdir(parents=True)
    rows = [edited(r, c) for c in range(copies) for r in records]
    for part in range(PARTS):
        with open(folder / f"part-{part}.jsonl", "w", encoding="utf-8") as f:
            for row in rows[part::PARTS]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


def truth_clusters(corpora: Path, threshold: float, copies: int) -> list[set[str]]:
    """Connected components of the exact pairs at the threshold, in every copy."""
    from opencorpus.stages.near_dedup import components

    pairs = [json.loads(line) for line in open(corpora / "near-dup" / "pairs.jsonl", encoding="utf-8")]
    roots = components((p["a"], p["b"]) for p in pairs if p["jaccard"] >= threshold)
    clusters: dict[str, set[str]] = {}
    for node, root in roots.items():
        clusters.setdefault(root, set()).add(node)
    return [{n if c == 0 else f"{n}#{c}" for n in members} for c in range(copies) for members in clusters.values()]


def score(removed: set[str], clusters: list[set[str]]) -> tuple[float, float]:
    tp = sum(min(len(removed & c), len(c) - 1) for c in clusters)
    expected = sum(len(c) - 1 for c in clusters)
    return (tp / len(removed) if removed else 1.0), tp / expected


# ----------------------------------------------------------------------------- the two systems
def run_opencorpus(folder: Path, out: Path, verify: bool = True) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from opencorpus.beam.near_dedup import NearDedup
    from opencorpus.beam.read import ReadSources, SourceWork
    from opencorpus.beam.spill import SpillDocuments
    from opencorpus.recipe import SourceSpec
    from opencorpus.sources import source_files
    from opencorpus.stages.dedup import Member, doc_node
    from opencorpus.stages.near_dedup import NearDedupOptions

    spec = SourceSpec(name="near-dup", uri=str(folder), format="jsonl")
    files = source_files(spec, str(folder), str(folder))
    beam_options = PipelineOptions(direct_running_mode="in_memory", direct_num_workers=1)
    with beam.Pipeline(runner=FnApiRunner(), options=beam_options) as p:
        _, docs, _, _ = p | "Read" >> ReadSources({spec.name: SourceWork(spec, [], None)}, files, "2026-01-01", None)
        members = docs | "Members" >> beam.Map(lambda d: (doc_node(d), Member.of(d)))
        frames = docs | "Spill" >> SpillDocuments(str(out.parent / f"scratch-{out.stem}"), SLICES)
        near_options = NearDedupOptions.from_options({**options(), "verify": verify})
        _, removed = (docs, members, frames) | "NearDedup" >> NearDedup(near_options, SLICES)
        counted = ((docs | "CountIn" >> beam.combiners.Count.Globally(),
                    removed | "CountOut" >> beam.Map(lambda _: -1) | "Negative" >> beam.CombineGlobally(sum))
                   | "Both" >> beam.Flatten() | "Kept" >> beam.CombineGlobally(sum))
        (removed | "Ids" >> beam.Map(lambda r: r.id.split("/", 1)[1]) | "List" >> beam.combiners.ToList()
         | "Dump" >> beam.Map(lambda ids, n: out.write_text(json.dumps({"removed": ids, "kept": n})),
                              beam.pvalue.AsSingleton(counted)))


def run_datatrove(folder: Path, out: Path) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    from opencorpus.stages.near_dedup import shingle_hashes

    opts = options()

    class SameShingles(MinhashDedupSignature):
        """datatrove's signature step on opencorpus's shingle hashes (the truth's shingles)."""

        def get_shingles(self, text):
            return shingle_hashes(text, opts["ngram"]).reshape(-1, 1)

    config = MinhashConfig(n_grams=opts["ngram"], num_buckets=opts["bands"], hashes_per_bucket=opts["rows"],
                           seed=opts["seed"], hash_config=HashConfig(precision=64))
    work = out.parent / f"work-{out.stem}"  # a fresh folder per run: datatrove skips completed tasks
    steps = [
        ([JsonlReader(str(folder)), SameShingles(output_folder=str(work / "sigs"), config=config)], PARTS),
        ([MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config)],
         opts["bands"]),
        ([MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"), config=config)], 1),
        ([JsonlReader(str(folder)), MinhashDedupFilter(input_folder=str(work / "remove"),
                                                       exclusion_writer=JsonlWriter(str(work / "removed"), compression=None))],
         PARTS),
    ]
    for i, (pipeline, tasks) in enumerate(steps):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs{i}")).run()
    removed = [json.loads(line)["id"] for f in sorted((work / "removed").glob("*.jsonl")) for line in open(f)]
    out.write_text(json.dumps({"removed": removed}))


# ----------------------------------------------------------------------------- driver
def measure(system: str, folder: Path, out: Path) -> tuple[float, float, set[str]]:
    """(wall seconds, peak RSS MB, removed ids) of one system in a fresh subprocess."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--run", system, "--input", str(folder), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{system} failed on {folder}:\n{stderr.decode(errors='replace')[-3000:]}")
    return wall, usage.ru_maxrss / 1024, set(json.loads(out.read_text())["removed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpora")
    parser.add_argument("--sizes", default="1,2,4", help="corpus repetitions, comma-separated")
    parser.add_argument("--repeat", type=int, default=2, help="runs per system and size, alternating; "
                        "the table shows the fastest wall time and the largest peak memory")
    parser.add_argument("--run", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        if args.run == "datatrove":
            run_datatrove(args.input, args.out)
        else:
            run_opencorpus(args.input, args.out, verify=args.run == "opencorpus")
        return

    opts = options()
    records = read_corpus(args.corpora)
    print(f"near-dup: {len(records)} documents; options {json.dumps(opts, sort_keys=True)}")
    print(f"{'size':>4} {'docs':>6} {'system':<11} {'wall s':>7} {'peak MB':>8} {'removed':>7} {'precision':>9} "
          f"{'recall':>6} {'time/1x':>7} {'mem/1x':>6}")
    first: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        for copies in (int(s) for s in args.sizes.split(",")):
            folder = Path(tmp) / f"input-{copies}x"
            n = write_input(records, copies, folder)
            clusters = truth_clusters(args.corpora, opts["threshold"], copies)
            runs: dict[str, list] = {system: [] for system in SYSTEMS}
            for attempt in range(args.repeat):  # alternate, so a busy moment of the machine hits both
                for system in runs:
                    runs[system].append(measure(system, folder, Path(tmp) / f"{system}-{copies}x-{attempt}.json"))
            for system, results in runs.items():
                wall, peak = min(r[0] for r in results), max(r[1] for r in results)
                removed = results[0][2]
                assert all(r[2] == removed for r in results), f"{system}: runs disagree"  # deterministic output
                base = first.setdefault(system, (wall, peak))
                precision, recall = score(removed, clusters)
                print(f"{copies:>3}x {n:>6} {system:<11} {wall:>7.1f} {peak:>8.0f} {len(removed):>7} {precision:>9.4f} "
                      f"{recall:>6.4f} {wall / base[0]:>7.2f} {peak / base[1]:>6.2f}", flush=True)
    print("targets: precision >= 0.99, recall >= 0.90; opencorpus time <= datatrove's at 4x; "
          "time and memory at most double when the input doubles")


if __name__ == "__main__":
    main()
