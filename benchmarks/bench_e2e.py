"""End-to-end benchmark: a whole opencorpus run beside a whole datatrove run, 1x to 8x size.

    make bench-e2e                                             # 1x = 128 MB of text, 8x > 1 GB
    .venv/bin/python benchmarks/bench_e2e.py --base-mb 8 --sizes 1,2 --skip-default   # a quick check

Both systems do the same work on the same four JSONL files, with the same tokenizer and the same
number of worker processes (--workers, default 2):

    read the JSONL files -> redact e-mail addresses and IP addresses -> write documents -> tokens

- opencorpus: `opencorpus run` on a recipe with every stage off but pii (entities EMAIL_ADDRESS and
  IP_ADDRESS, no NER), the tokenizer by path and 4 output shards, on Beam's FnApiRunner with
  `--direct_num_workers N` (multi-processing).
- datatrove: JsonlReader -> PIIFormatter (e-mails and IPs) -> JsonlWriter (zstd) -> DocumentTokenizer
  (the same tokenizer.json file, EOS after every document), LocalPipelineExecutor(tasks=4, workers=N).

Each run is a fresh subprocess writing into a fresh folder. Reported per size and system: wall
time, MB/s (input text MB, 10^6 bytes, per wall second) and the peak RSS of the whole process tree
(the root and every descendant, summed, sampled from /proc every 0.2 s), then documents and tokens
written by each, the MB/s ratio opencorpus / datatrove per size and the peak-memory growth from the
smallest to the largest size. Unless --skip-default, the default recipe (every stage on, pii with
the default preset) also runs at 1x and 4x, with the CPU seconds per stage that `run.json` records
(`stages_cpu`; "n/a" when a run does not record them).

The corpus is real text from this machine: Debian docs under /usr/share/doc (changelogs and
copyright files, gzip ones decompressed: many real e-mail addresses, some IPs), Python sources
under /usr/lib/python3* and the text files of the venv's distributions that requirements.lock pins
(so installing a tool into the venv changes nothing). The files, sorted and shuffled with --seed,
form one stream; a size is its first k x base bytes of text, so size k has k times the text of 1x.
Once the files run out the stream starts over, and every later pass is edited: a seeded quarter of
the words of 4+ letters (outside e-mails and dotted names) become other words of the same length
(a text with no such word gets a line naming its copy instead), so no copy is an exact duplicate and
few are near duplicates (median 5-word-shingle Jaccard to the original ~0.35). Inputs and the
tokenizer (32k byte-level BPE trained on a seeded sample of the 1x corpus) are cached in --work and
rebuilt when the parameters or the files on the machine change.

The page cache cannot be dropped without root, so every measured run follows one untimed read of
its input files, each system first runs once untimed on a sliver of the input (libraries read from
disk; --no-prime skips it), and the two systems take turns going first from one size to the next.
Results also go to <work>/results.json; each run's folder (recipe, log, output) stays in
<work>/runs until the next run of the same suite, size and system.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import orjson

PARTS = 4  # input files per size, and output shards / tasks for both systems
SYSTEMS = ("opencorpus", "datatrove")
DEFAULT_SIZES = (1, 4)  # the default recipe's sizes (those of --sizes it keeps)
EOS = "<|endoftext|>"
MB = 1_000_000
SAMPLE_SECONDS = 0.2
BUILDER_VERSION = 2  # bump when the corpus construction changes, to invalidate cached inputs
MAX_FILE_BYTES = 2 * MB  # larger files (generated tables, bundles) stay out of the pool
EDIT_SHARE = 0.25  # of the eligible words, in every pass after the first
# A word the edits may replace: 4+ ASCII letters, not part of an e-mail address or a dotted name.
EDITABLE = re.compile(r"(?<![\w@.])[A-Za-z]{4,}(?![\w@.])")
REPO = Path(__file__).resolve().parents[1]
VENV_SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
# (folder, file suffixes taken; () = every file that is UTF-8 text)
POOL_ROOTS: tuple[tuple[Path, tuple[str, ...]], ...] = (
    (Path("/usr/share/doc"), ()),
    *((p, (".py",)) for p in sorted(Path("/usr/lib").glob("python3*"))),
)
# From the venv, only the distributions requirements.lock pins: whatever else is installed stays out.
VENV_SUFFIXES = (".py", ".pyi", ".md", ".rst", ".txt")
ENV = {"TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "TLDEXTRACT_CACHE": str(REPO / ".cache" / "tldextract")}


# ----------------------------------------------------------------------------- corpus
def pool_files() -> list[Path]:
    """Every candidate file of the pool, sorted (symlinks left out)."""
    files = []
    for root, suffixes in POOL_ROOTS:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                if path.is_symlink() or (suffixes and not name.endswith(suffixes)):
                    continue
                files.append(path)
    return files + locked_venv_files()


def locked_venv_files() -> list[Path]:
    """Text files of the venv's distributions at the versions requirements.lock pins."""
    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[canonical(name.strip())] = version.split(";")[0].strip()
    files = set()
    for dist in importlib.metadata.distributions(path=[str(VENV_SITE)]):
        if pins.get(canonical(dist.metadata["Name"] or "")) != dist.version:
            continue
        for entry in dist.files or ():
            path = Path(os.path.normpath(dist.locate_file(entry)))
            if entry.suffix in VENV_SUFFIXES and path.is_relative_to(VENV_SITE) and path.is_file() \
                    and not path.is_symlink():
                files.add(path)
    return sorted(files)


def pool_digest(files: list[Path]) -> str:
    """Changes when a file of the pool appears, disappears or changes size."""
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path}\t{path.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def read_text(path: Path) -> str | None:
    """The file's text (gzip decompressed), or None if it is not UTF-8 text of a useful size."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return None
    if "\x00" in text or len(data) > MAX_FILE_BYTES or not text.strip():
        return None
    return text


def build_vocabulary(paths: list[Path], files: int = 300) -> dict[int, list[str]]:
    """Words of the first files of the stream, by length: the replacements for edited copies."""
    words: set[str] = set()
    for path in paths[:files]:
        words.update(EDITABLE.findall(read_text(path) or ""))
    by_length: dict[int, list[str]] = defaultdict(list)
    for word in sorted(words):
        by_length[len(word)].append(word)
    return by_length


def edit(text: str, rng: random.Random, vocabulary: dict[int, list[str]]) -> str:
    """Replace a seeded share of the editable words by other words of the same length."""
    def replace(m: re.Match) -> str:
        choices = vocabulary.get(len(m.group(0)))
        return rng.choice(choices) if choices and rng.random() < EDIT_SHARE else m.group(0)

    return EDITABLE.sub(replace, text)


def document_stream(seed: int) -> Iterator[tuple[str, str]]:
    """(id, text) forever: the pool's files in seeded order, then edited passes over them."""
    paths = pool_files()
    random.Random(seed).shuffle(paths)
    vocabulary = build_vocabulary(paths)
    kept: list[Path] = []
    seen: set[bytes] = set()
    for path in paths:  # pass 0: the files as they are, each distinct text once
        text = read_text(path)
        digest = hashlib.sha1(text.encode()).digest() if text is not None else b""
        if text is None or digest in seen:
            continue
        seen.add(digest)
        kept.append(path)
        yield str(path).lstrip("/"), text
    for n in count(1):
        for path in kept:
            key = str(path).lstrip("/")
            text = read_text(path) or ""
            edited = edit(text, random.Random(f"{seed}:{n}:{key}"), vocabulary)
            yield f"{key}#{n}", edited if edited != text else f"{text}\n(copy {n})\n"


@dataclass
class Inputs:
    size: int
    folder: Path
    documents: int
    text_bytes: int
    email_like: int  # rough counts, to show the redaction has work to do
    ipv4_like: int


def input_folder(work: Path, base_mb: float, seed: int, size: int) -> Path:
    return work / "inputs" / f"base-{base_mb:g}MB-seed{seed}" / f"size-{size}x"


def stamp_file(folder: Path) -> Path:
    """What a size's files hold, beside its folder (the folder holds only the JSONL files both systems read)."""
    return folder.with_name(folder.name + ".json")


def build_inputs(work: Path, base_mb: float, seed: int, sizes: list[int]) -> dict[int, Inputs]:
    """Each size's 4 JSONL files, built in one pass over the stream; cached ones are reused."""
    digest = pool_digest(pool_files())
    want = {"base_mb": base_mb, "seed": seed, "pool": digest, "builder": BUILDER_VERSION}
    inputs: dict[int, Inputs] = {}
    for size in sizes:
        folder = input_folder(work, base_mb, seed, size)
        stamp = stamp_file(folder)
        if stamp.exists():
            info = json.loads(stamp.read_text())
            if {k: info.get(k) for k in want} == want:
                inputs[size] = Inputs(size, folder, info["documents"], info["text_bytes"],
                                      info["email_like"], info["ipv4_like"])
    missing = sorted(set(sizes) - set(inputs))
    if not missing:
        return inputs
    print(f"building inputs {', '.join(f'{s}x' for s in missing)} (base {base_mb:g} MB, seed {seed}, pool {digest})",
          flush=True)
    started = time.perf_counter()
    targets = {size: int(size * base_mb * MB) for size in missing}
    written = dict.fromkeys(missing, 0)
    docs = dict.fromkeys(missing, 0)
    emails, ips = dict.fromkeys(missing, 0), dict.fromkeys(missing, 0)
    folders = {size: input_folder(work, base_mb, seed, size) for size in missing}
    email_re = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
    ip_re = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
    with ExitStack() as stack:
        handles = {}
        for size, folder in folders.items():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            handles[size] = [stack.enter_context(open(folder / f"part-{p}.jsonl", "wb")) for p in range(PARTS)]
        for i, (doc_id, text) in enumerate(document_stream(seed)):
            open_sizes = [s for s in missing if written[s] < targets[s]]
            if not open_sizes:
                break
            line = orjson.dumps({"id": doc_id, "text": text}) + b"\n"
            n_bytes, n_emails, n_ips = len(text.encode()), len(email_re.findall(text)), len(ip_re.findall(text))
            for size in open_sizes:
                handles[size][i % PARTS].write(line)
                written[size] += n_bytes
                docs[size] += 1
                emails[size] += n_emails
                ips[size] += n_ips
    for size, folder in folders.items():
        info = {**want, "documents": docs[size], "text_bytes": written[size], "email_like": emails[size],
                "ipv4_like": ips[size]}
        stamp_file(folder).write_text(json.dumps(info, indent=2))
        inputs[size] = Inputs(size, folder, docs[size], written[size], emails[size], ips[size])
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return inputs


def iter_texts(folder: Path) -> Iterator[str]:
    for part in sorted(folder.glob("part-*.jsonl")):
        with open(part, "rb") as f:
            for line in f:
                yield orjson.loads(line)["text"]


def warm_up(folder: Path) -> None:
    """Read the input files once, untimed, so every measured run finds them in the page cache."""
    for part in sorted(folder.glob("part-*.jsonl")):
        with open(part, "rb") as f:
            while f.read(16 << 20):
                pass


# ----------------------------------------------------------------------------- tokenizer
def train_tokenizer(work: Path, inputs_1x: Inputs, seed: int, vocab_size: int, sample_mb: float) -> Path:
    """A byte-level BPE tokenizer.json (EOS is token 0) trained on a seeded sample of the 1x corpus; cached."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )

    stamp = json.loads(stamp_file(inputs_1x.folder).read_text())
    key = hashlib.sha256(json.dumps([stamp, seed, vocab_size, sample_mb], sort_keys=True).encode()).hexdigest()[:12]
    path = work / f"tokenizer-{vocab_size // 1000}k-{key}.json"
    if path.exists():
        return path
    started = time.perf_counter()
    texts = list(iter_texts(inputs_1x.folder))
    random.Random(seed).shuffle(texts)
    sample, total = [], 0
    for text in texts:
        if total >= sample_mb * MB:
            break
        sample.append(text)
        total += len(text.encode())
    del texts
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # as tokenizers' ByteLevelBPETokenizer
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(sample, trainer=trainer)
    tmp = path.with_suffix(".tmp")
    tok.save(str(tmp))
    tmp.rename(path)
    print(f"tokenizer: {tok.get_vocab_size():,} tokens trained on {len(sample):,} documents "
          f"({total / MB:.1f} MB) in {time.perf_counter() - started:.0f} s -> {path}", flush=True)
    return path


# ----------------------------------------------------------------------------- the systems
def opencorpus_recipe(input_dir: Path, tokenizer: Path, out: Path, default: bool, kind: str) -> str:
    """The recipe of a measured opencorpus run: pii only (e-mails, IPs), or every stage at its default."""
    stages: dict[str, Any] = {"license": {}, "language": {}, "quality": {}, "dedup": {}, "near_dedup": {},
                              "pii": {"settings": "default"}} if default else {
        "license": False, "language": False, "quality": False, "dedup": False, "near_dedup": False,
        "pii": {"entities": ["EMAIL_ADDRESS", "IP_ADDRESS"], "ner_kinds": []}}
    recipe = {
        "name": "bench-e2e",
        "date": "2026-01-01",
        "seed": 0,
        "sources": [{"name": "corpus", "uri": str(input_dir), "format": "jsonl", "kind": kind}],
        "stages": stages,
        "tokenizer": {"path": str(tokenizer), "eos": EOS},
        "output": {"uri": str(out), "shards": PARTS},
    }
    return json.dumps(recipe, indent=2)  # JSON is YAML


def opencorpus_command(recipe: Path, workers: int) -> list[str]:
    return [str(Path(sys.executable).parent / "opencorpus"), "run", str(recipe), "--",
            "--direct_num_workers", str(workers)]


def datatrove_command(input_dir: Path, tokenizer: Path, out: Path, workers: int, seed: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--run-datatrove", str(input_dir), str(tokenizer),
            str(out), str(workers), str(seed)]


def run_datatrove(input_dir: str, tokenizer: str, out: str, workers: int, seed: int) -> None:
    """The datatrove pipeline (runs in the measured subprocess)."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import DocumentTokenizer
    from datatrove.pipeline.writers import JsonlWriter

    pipeline = [
        JsonlReader(input_dir, glob_pattern="part-*.jsonl"),
        PIIFormatter(remove_emails=True, remove_ips=True),
        JsonlWriter(f"{out}/documents", compression="zstd", output_filename="${rank}.jsonl.zst"),
        DocumentTokenizer(f"{out}/tokens", tokenizer_name_or_path=tokenizer, eos_token=EOS, seed=seed,
                          local_working_dir=f"{out}/tokens-tmp"),
    ]
    LocalPipelineExecutor(pipeline=pipeline, tasks=PARTS, workers=workers, logging_dir=f"{out}/logs",
                          skip_completed=False).run()


# ----------------------------------------------------------------------------- measuring
def process_tree(root: int) -> list[int]:
    """The root pid and every live descendant, from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # the comm field may hold spaces and ')'
        children[ppid].append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Resident bytes of the process tree, summed over its processes."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Measured:
    wall_s: float
    peak_rss_bytes: int
    returncode: int
    processes_seen: int


def measure(command: list[str], log: Path, cwd: Path) -> Measured:
    """Run the command in a subprocess; wall time and peak summed RSS of its process tree."""
    env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        peak, seen = 0, set()
        while True:
            tree = process_tree(proc.pid)
            seen.update(tree)
            peak = max(peak, tree_rss(proc.pid))
            try:
                proc.wait(timeout=SAMPLE_SECONDS)
                break
            except subprocess.TimeoutExpired:
                continue
    return Measured(time.perf_counter() - start, peak, proc.returncode, len(seen))


# ----------------------------------------------------------------------------- reading results
def opencorpus_results(out: Path) -> dict[str, Any]:
    """Documents and tokens written, and the per-stage CPU seconds when run.json has them."""
    run_files = sorted(out.glob("*/v*/run.json"))
    if not run_files:
        return {}
    version = run_files[-1].parent
    stats = json.loads((version / "stats.json").read_text())
    run = json.loads(run_files[-1].read_text())
    return {"documents": stats["counts"]["output"], "tokens": stats.get("tokens", {}).get("total"),
            "pii": stats.get("pii"), "removed": {k: sum(v.values()) for k, v in stats["counts"]["removed"].items()},
            "stages_cpu": run.get("stages_cpu"), "seconds": run.get("seconds")}


def datatrove_results(out: Path) -> dict[str, Any]:
    """Documents (JsonlWriter's count in stats.json) and tokens (the .ds.metadata files' counts)."""
    documents = None
    stats_file = out / "logs" / "stats.json"
    if stats_file.exists():
        for step in json.loads(stats_file.read_text()):
            if "WRITER" in step.get("name", "").upper() and "Jsonl" in step.get("name", ""):
                documents = step.get("stats", {}).get("total")
    # Each .ds.metadata: "<tokenizer>|<token bytes>", then the file's token count.
    counts = [int(meta.read_text().split("\n")[1]) for meta in (out / "tokens").glob("*.ds.metadata")]
    return {"documents": documents, "tokens": sum(counts) if counts else None}


# ----------------------------------------------------------------------------- driver
@dataclass
class Result:
    suite: str  # "pii" (like for like) or "default" (opencorpus's default recipe)
    system: str
    size: int
    input_mb: float
    wall_s: float | None
    mb_per_s: float | None
    peak_rss_mb: float | None
    documents: int | None = None
    tokens: int | None = None
    processes: int = 0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def run_one(suite: str, system: str, inputs: Inputs, tokenizer: Path, work: Path, workers: int, seed: int,
            kind: str) -> Result:
    folder = work / "runs" / f"{suite}-{inputs.size}x-{system}"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh output folder for every measured run
    folder.mkdir(parents=True)
    out = folder / "out"
    if system == "opencorpus":
        recipe = folder / "recipe.yaml"
        recipe.write_text(opencorpus_recipe(inputs.folder, tokenizer, out, suite == "default", kind))
        command = opencorpus_command(recipe, workers)
    else:
        command = datatrove_command(inputs.folder, tokenizer, out, workers, seed)
    warm_up(inputs.folder)
    size = f"{inputs.size}x" if inputs.size else "sliver"
    print(f"  {suite:<7} {size:<6} {system:<10} ...", end=" ", flush=True)
    m = measure(command, folder / "run.log", folder)
    input_mb = inputs.text_bytes / MB
    result = Result(suite, system, inputs.size, input_mb, m.wall_s, input_mb / m.wall_s, m.peak_rss_bytes / MB,
                    processes=m.processes_seen)
    if m.returncode != 0:
        tail = (folder / "run.log").read_text(errors="replace")[-2000:]
        result.error = f"exit {m.returncode}; log {folder / 'run.log'}"
        print(f"FAILED ({result.error})\n{tail}", flush=True)
        return result
    details = opencorpus_results(out) if system == "opencorpus" else datatrove_results(out)
    result.documents, result.tokens = details.pop("documents", None), details.pop("tokens", None)
    result.details = details
    print(f"{m.wall_s:.1f} s, peak {m.peak_rss_bytes / MB:,.0f} MB over {m.processes_seen} processes", flush=True)
    return result


def prime(work: Path, inputs_1x: Inputs, tokenizer: Path, workers: int, seed: int, lines: int = 25) -> None:
    """One untimed run of each system on a sliver of the 1x input, so that the first measured run
    does not pay for reading the libraries' files from disk."""
    folder = work / "inputs" / "prime"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    documents = text_bytes = 0
    for part in range(PARTS):
        name = f"part-{part}.jsonl"
        with open(inputs_1x.folder / name, "rb") as src, open(folder / name, "wb") as dst:
            for _, line in zip(range(lines), src):
                dst.write(line)
                documents += 1
                text_bytes += len(orjson.loads(line)["text"].encode())
    sliver = Inputs(0, folder, documents, text_bytes, 0, 0)
    print(f"untimed priming runs on {documents} documents:")
    for system in SYSTEMS:
        run_one("prime", system, sliver, tokenizer, work, workers, seed, kind="text")


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def print_table(results: list[Result], inputs: dict[int, Inputs]) -> None:
    print("\n| size | input MB | docs in | system | wall s | MB/s | peak RSS MB | docs out | tokens |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        if r.error:
            print(f"| {r.size}x | {r.input_mb:,.1f} | {inputs[r.size].documents:,} | {r.system} | failed: {r.error} "
                  "| | | | |")
            continue
        print(f"| {r.size}x | {r.input_mb:,.1f} | {inputs[r.size].documents:,} | {r.system} | {fmt(r.wall_s, '.1f')} "
              f"| {fmt(r.mb_per_s, '.2f')} | {fmt(r.peak_rss_mb, ',.0f')} | {fmt(r.documents, ',')} "
              f"| {fmt(r.tokens, ',')} |")


def ratios(results: list[Result]) -> dict[str, Any]:
    """opencorpus MB/s / datatrove MB/s per size; peak RSS at the largest / the smallest size per system."""
    by = {(r.system, r.size): r for r in results if r.error is None}
    sizes = sorted({r.size for r in results})
    speed = {f"{s}x": by[("opencorpus", s)].mb_per_s / by[("datatrove", s)].mb_per_s
             for s in sizes if ("opencorpus", s) in by and ("datatrove", s) in by}
    growth = {}
    if len(sizes) > 1:
        for system in SYSTEMS:
            if (system, sizes[0]) in by and (system, sizes[-1]) in by:
                growth[system] = by[(system, sizes[-1])].peak_rss_mb / by[(system, sizes[0])].peak_rss_mb
    return {"mb_per_s_opencorpus_over_datatrove": speed,
            f"peak_rss_{sizes[-1]}x_over_{sizes[0]}x": growth}


def print_counts(results: list[Result]) -> None:
    """Documents and tokens side by side: the two systems should write about the same."""
    by = {(r.system, r.size): r for r in results if r.error is None}
    print("\n| size | docs opencorpus | docs datatrove | tokens opencorpus | tokens datatrove | token ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in sorted({r.size for r in results}):
        oc, dt = by.get(("opencorpus", size)), by.get(("datatrove", size))
        ratio = oc.tokens / dt.tokens if oc and dt and oc.tokens and dt.tokens else None
        print(f"| {size}x | {fmt(oc and oc.documents, ',')} | {fmt(dt and dt.documents, ',')} "
              f"| {fmt(oc and oc.tokens, ',')} | {fmt(dt and dt.tokens, ',')} | {fmt(ratio, '.4f')} |")


def print_stages(results: list[Result]) -> None:
    for r in results:
        if r.error:
            continue
        stages = r.details.get("stages_cpu")
        print(f"\nCPU seconds per stage, default recipe at {r.size}x:", "n/a" if not stages else "")
        if stages:
            print("| stage | CPU s | share |\n|---|---:|---:|")
            for s in stages:
                print(f"| {s['stage']} | {s['cpu_seconds']:,.1f} | {s['share']:.1%} |")


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(s) for s in text.split(",") if s.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"expected sizes such as 1,2,4,8, got {text!r}")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-mb", type=float, default=128, help="text MB at 1x (default 128: 8x > 1 GB)")
    parser.add_argument("--sizes", type=parse_sizes, default=[1, 2, 4, 8], help="multiples of the base, e.g. 1,2,4,8")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for each system")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-e2e",
                        help="inputs, tokenizer, run folders and results.json (default build/bench-e2e)")
    parser.add_argument("--skip-default", action="store_true", help="leave out the default-recipe runs")
    parser.add_argument("--datatrove-sizes", type=parse_sizes, default=None,
                        help="the sizes datatrove runs at (default: all; it is OOM-killed at 8x on 24 GB after ~17 min)")
    parser.add_argument("--default-sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="sizes of the default-recipe runs (default 1,4)")
    parser.add_argument("--default-kind", default="code", choices=("text", "code", "web"),
                        help="the source kind of the default recipe (picks the quality preset; most of the "
                             "corpus is Python code)")
    parser.add_argument("--no-prime", action="store_true", help="skip the untimed priming run of each system")
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--tokenizer-sample-mb", type=float, default=16, help="text MB the tokenizer trains on")
    parser.add_argument("--run-datatrove", nargs=5, metavar=("INPUT", "TOKENIZER", "OUT", "WORKERS", "SEED"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_datatrove:
        input_dir, tokenizer, out, workers, seed = args.run_datatrove
        run_datatrove(input_dir, tokenizer, out, int(workers), int(seed))
        return

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    default_sizes = [] if args.skip_default else args.default_sizes
    inputs = build_inputs(work, args.base_mb, args.seed, sorted({1, *args.sizes, *default_sizes}))
    for size in sorted(inputs):
        i = inputs[size]
        print(f"  {size}x: {i.documents:,} documents, {i.text_bytes / MB:,.1f} MB of text, ~{i.email_like:,} e-mail "
              f"addresses, ~{i.ipv4_like:,} IPv4-shaped strings ({i.folder})")
    tokenizer = train_tokenizer(work, inputs[1], args.seed, args.vocab_size, args.tokenizer_sample_mb)

    if not args.no_prime:
        prime(work, inputs[1], tokenizer, args.workers, args.seed)
    print(f"\nlike for like (read -> e-mail + IP redaction -> documents -> tokens), {args.workers} workers each:")
    results: list[Result] = []
    for n, size in enumerate(args.sizes):
        order = SYSTEMS if n % 2 == 0 else SYSTEMS[::-1]  # take turns going first
        for system in order:
            if system == "datatrove" and args.datatrove_sizes is not None and size not in args.datatrove_sizes:
                continue
            results.append(run_one("pii", system, inputs[size], tokenizer, work, args.workers, args.seed,
                                   kind="text"))
    results.sort(key=lambda r: (r.size, SYSTEMS.index(r.system)))
    default_results = [run_one("default", "opencorpus", inputs[size], tokenizer, work, args.workers, args.seed,
                               kind=args.default_kind) for size in default_sizes]

    print_table(results, inputs)
    summary = ratios(results)
    print("\nopencorpus MB/s / datatrove MB/s: " + (", ".join(
        f"{size} {value:.3f}" for size, value in summary["mb_per_s_opencorpus_over_datatrove"].items()) or "n/a"))
    for key, growth in summary.items():
        if key.startswith("peak_rss") and growth:
            label = key.replace("peak_rss_", "peak RSS ").replace("_over_", " / ")
            print(f"{label}: " + ", ".join(f"{system} {value:.2f}" for system, value in growth.items()))
    print_counts(results)
    if default_results:
        print("\ndefault recipe (every stage on, pii default preset), opencorpus:")
        print_table(default_results, inputs)
        print_stages(default_results)
    output = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "run_datatrove"},
        "tokenizer": str(tokenizer),
        "inputs": {f"{s}x": {**asdict(i), "folder": str(i.folder)} for s, i in inputs.items()},
        "results": [asdict(r) for r in results],
        "ratios": summary,
        "default_recipe": [asdict(r) for r in default_results],
    }
    (work / "results.json").write_text(json.dumps(output, indent=2))
    print(f"\nresults: {work / 'results.json'}")


if __name__ == "__main__":
    main()
