"""Takedown benchmark: a whole run (the anchor) beside a takedown of 10 of its documents.

    make bench-takedown                                   # bench-e2e's 1x corpus (128 MB)
    .venv/bin/python benchmarks/bench_takedown.py --base-mb 16

The run is bench-e2e's like-for-like recipe (read, redact e-mails and IPs, documents, tokens with
a 32k BPE; 2 workers) on its 1x corpus. Then `opencorpus takedown` removes 10 documents picked
with --seed from across the parts, and `diff` and `verify` check the new version: the diff must
list exactly those 10 as removed (and nothing added or changed), verify must pass. Reported: the
run's and the takedown's wall time and their ratio (target <= 0.10), and the diff and verify
times. Results also go to <work>/takedown.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_e2e import ENV, REPO, build_inputs, measure, opencorpus_command, opencorpus_recipe, train_tokenizer  # noqa: E402

from opencorpus.formats.jsonl import read_jsonl_zst  # noqa: E402

OPENCORPUS = str(Path(sys.executable).parent / "opencorpus")


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **ENV}, cwd=REPO)
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-mb", type=float, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-e2e")
    args = parser.parse_args()

    inputs = build_inputs(args.work, args.base_mb, args.seed, [1])[1]
    tokenizer = train_tokenizer(args.work, inputs, args.seed, 32000, 16)
    runs = args.work / "takedown"
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    out = runs / "out"
    recipe = runs / "recipe.yaml"
    recipe.write_text(opencorpus_recipe(inputs.folder, tokenizer, out, default=False, kind="code"))
    for path in inputs.folder.glob("*.jsonl"):
        path.read_bytes()
    print(f"bench-takedown: {inputs.text_bytes / 1e6:.0f} MB, {inputs.documents:,} documents", flush=True)
    run = measure(opencorpus_command(recipe, args.workers), runs / "run.log", REPO)
    if run.returncode:
        raise SystemExit(f"the run failed; see {runs / 'run.log'}")
    v1 = out / "bench-e2e" / "v1"

    rng = random.Random(args.seed)
    picked = []
    parts = sorted((v1 / "documents").glob("*.jsonl.zst"))
    for part in parts:
        docs = list(read_jsonl_zst(str(part)))
        picked += rng.sample(docs, min(len(docs), -(-args.documents // len(parts))))
    picked = picked[:args.documents]
    hashes = [d["metadata"]["sha256"] for d in picked]

    took, done = timed([OPENCORPUS, "takedown", "--snapshot", str(v1), "--hash", *hashes, "--reason", "benchmark"])
    if done.returncode:
        raise SystemExit(f"takedown failed: {done.stderr}")
    v2 = Path(done.stdout.strip().splitlines()[-1])
    diff_s, diff = timed([OPENCORPUS, "diff", str(v1), str(v2), "--json"])
    listed = json.loads(diff.stdout)
    exact = sorted(r["id"] for r in listed["removed"]) == sorted(d["id"] for d in picked) \
        and not listed["added"] and not listed["changed"]
    verify_s, verified = timed([OPENCORPUS, "verify", str(v2)])

    results = {"mb": round(inputs.text_bytes / 1e6, 1), "documents": inputs.documents, "run_s": round(run.wall_s, 1),
               "takedown_s": round(took, 2), "ratio": round(took / run.wall_s, 4), "taken_down": len(picked),
               "diff_s": round(diff_s, 2), "diff_exact": exact, "verify_s": round(verify_s, 2),
               "verify_ok": verified.returncode == 0}
    print(f"\n{'':<12} {'wall s':>8}")
    print(f"{'run':<12} {results['run_s']:8.1f}")
    print(f"{'takedown':<12} {results['takedown_s']:8.2f}   {results['ratio']:.3f}x the run ({len(picked)} documents)")
    print(f"{'diff':<12} {results['diff_s']:8.2f}   lists exactly those: {exact}")
    print(f"{'verify':<12} {results['verify_s']:8.2f}   {'OK' if results['verify_ok'] else 'FAILED'}")
    (args.work / "takedown.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
