"""Run cache benchmark: the default recipe without a cache (the anchor), then with one.

    make bench-cache                                    # 8 MB of text, every stage on, 2 workers
    .venv/bin/python benchmarks/bench_cache.py --mb 4   # quicker

The runs, each a fresh `opencorpus run` subprocess into a folder of its own (so each publishes
v1 and their digests compare), in this order:

1. anchor: `--no-cache`;
2. first: with an empty cache (it fills it; its cost over the anchor is the cache's overhead);
3. second: the same recipe again with that cache (target: <= 0.2x the first run's wall time);
4. killed: with a second, empty cache, killed with SIGKILL (the whole process group) at
   --kill-at (default 0.8) of the first run's wall time;
5. resumed: the same recipe again with the killed run's cache (target: <= 0.3x the first run);
6. one more source: the recipe with a fourth input file as a source of its own, with the first
   cache: only that file is read (the run's `cache` facts in run.json say how many).

The corpus is bench-e2e's (real text from this machine, benchmarks/bench_e2e.py), --mb of it in
four JSONL files: the recipe reads three as one source, the fourth is the added source. The
tokenizer is GPT-2's (tests/data/gpt2). Reported per run: wall time, its ratio to the first run,
peak RSS of the process tree, files and PII texts taken from the cache and computed, and whether
the snapshot digest equals the anchor's. Results also go to <work>/results.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_e2e import ENV, EOS, REPO, build_inputs, measure  # noqa: E402

GPT2 = REPO / "tests" / "data" / "gpt2"


def recipe_text(inputs: Path, more: bool) -> str:
    sources = [{"name": "corpus", "uri": str(inputs / "part-[012].jsonl"), "format": "jsonl", "kind": "code"}]
    if more:
        sources.append({"name": "added", "uri": str(inputs / "part-3.jsonl"), "format": "jsonl", "kind": "code"})
    recipe = {
        "name": "bench-cache", "date": "2026-01-01", "seed": 0, "sources": sources,
        "stages": {"license": {}, "language": {}, "quality": {}, "dedup": {}, "near_dedup": {}, "pii": {"settings": "default"}},
        "tokenizer": {"vocab": str(GPT2 / "encoder.json"), "merges": str(GPT2 / "vocab.bpe"), "eos": EOS},
        "output": {"shards": 4},
    }
    return json.dumps(recipe, indent=2)  # JSON is YAML


def command(recipe: Path, out: Path, cache: Path | None, workers: int) -> list[str]:
    cache_args = ["--cache", str(cache)] if cache is not None else ["--no-cache"]
    return [str(Path(sys.executable).parent / "opencorpus"), "run", str(recipe), "--output", str(out), *cache_args,
            "--", "--direct_num_workers", str(workers)]


def outcome(out: Path) -> dict[str, Any]:
    """The published version's digest and run.json's cache facts."""
    version = out / "bench-cache" / "v1"
    run = json.loads((version / "run.json").read_text())
    return {"digest": hashlib.sha256((version / "manifest.json").read_bytes()).hexdigest(), "cache": run.get("cache") or {}}


def killed_run(cmd: list[str], after: float, log: Path) -> float:
    """Start the run, SIGKILL its process group after `after` seconds; seconds it ran."""
    env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True)
        try:
            proc.wait(timeout=after)
            raise SystemExit(f"the run to be killed finished first ({time.perf_counter() - start:.0f} s); lower --kill-at")
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8, help="text MB of the four input files together")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kill-at", type=float, default=0.8, help="fraction of the first run's time to kill at")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-cache")
    args = parser.parse_args()

    inputs = build_inputs(args.work, args.mb, args.seed, [1])[1].folder
    runs = args.work / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    base, more = runs / "recipe.yaml", runs / "recipe-more.yaml"
    base.write_text(recipe_text(inputs, more=False))
    more.write_text(recipe_text(inputs, more=True))
    cache, killed_cache = runs / "cache", runs / "cache-killed"
    for path in inputs.glob("*.jsonl"):  # an untimed read: the page cache holds the inputs for every run
        path.read_bytes()

    rows: list[dict[str, Any]] = []

    def timed(name: str, recipe: Path, cache_dir: Path | None) -> dict[str, Any]:
        out = runs / name
        measured = measure(command(recipe, out, cache_dir, args.workers), runs / f"{name}.log", REPO)
        if measured.returncode != 0:
            raise SystemExit(f"{name}: exit {measured.returncode}; see {runs / f'{name}.log'}")
        row = {"run": name, "wall_s": round(measured.wall_s, 1), "peak_rss_mb": round(measured.peak_rss_bytes / 2**20),
               **outcome(out)}
        rows.append(row)
        print(f"  {name:<10} {row['wall_s']:7.1f} s  {row['cache']}", flush=True)
        return row

    print(f"bench-cache: {args.mb:g} MB, default recipe, {args.workers} workers; runs in {runs}", flush=True)
    anchor = timed("anchor", base, None)
    first = timed("first", base, cache)
    timed("second", base, cache)
    ran = killed_run(command(base, runs / "killed", killed_cache, args.workers), args.kill_at * first["wall_s"],
                     runs / "killed.log")
    rows.append({"run": "killed", "wall_s": round(ran, 1), "peak_rss_mb": None, "digest": None, "cache": {}})
    print(f"  killed     {ran:7.1f} s  (SIGKILL at {args.kill_at:.0%} of the first run)", flush=True)
    timed("resumed", base, killed_cache)
    timed("more", more, cache)

    print(f"\n{'run':<10} {'wall s':>8} {'x first':>8} {'peak MB':>8} {'files cached/read':>18} "
          f"{'PII texts cached/redacted':>26}  digest")
    for row in rows:
        c = row["cache"]
        same = ("" if row["digest"] is None or row["run"] == "more"  # another recipe: another snapshot
                else "= anchor" if row["digest"] == anchor["digest"] else "DIFFERS")
        files = f"{c.get('files_from_cache', 0)}/{c.get('files_read', 0)}" if c else "-"
        texts = f"{c.get('pii_texts_from_cache', 0):,}/{c.get('pii_texts_redacted', 0):,}" if c else "-"
        peak = "-" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:,}"
        print(f"{row['run']:<10} {row['wall_s']:8.1f} {row['wall_s'] / first['wall_s']:8.2f} {peak:>8} {files:>18} "
              f"{texts:>26}  {same}")
    (args.work / "results.json").write_text(json.dumps({"mb": args.mb, "workers": args.workers, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
