"""The portable runner path: one recipe through Beam's Job API gives the default local run's snapshot.

A local job service and a separate SDK worker pool (`--environment_type EXTERNAL`) are started
by scripts/portable.py, bound to 127.0.0.1: the protocol Dataflow Runner v2, Flink and Spark
speak. The workers are started by the pool, not by the driver, from another folder and with
none of the environment the driver sets up, so whatever only works in-process shows up here.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import ipaddress
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from opencorpus import storage
from opencorpus.beam.runner import RUNNER_STEP
from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "demo"
RECIPE = """\
name: portable
date: 2026-11-01
seed: 5
sources:
  - {name: debian, uri: data/debian.jsonl, kind: code, license: MIT}
  - {name: changelogs, uri: data/changelogs.jsonl}
  - {name: broken, uri: data/broken.jsonl}
tokenizer: {train: {vocab_size: 600, sample_size: 300}}
output: {shards: 3}
"""
CHANGELOGS = 200  # of 400: names and e-mail addresses for PII, kept few for the run's time
BROKEN = b'{"id": "ok-1", "text": "SPDX-License-Identifier: Apache-2.0"}\n{"id": "bad-json", "text": \n{"id": "no-text"}\n'
# Set by the driver or the developer's shell; a cluster's workers have none of them.
DRIVER_ONLY_ENV = ("TOKENIZERS_PARALLELISM", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "TLDEXTRACT_CACHE")


def _portable_module():
    spec = importlib.util.spec_from_file_location("opencorpus_portable_script", ROOT / "scripts" / "portable.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def make_recipe(folder: Path) -> Path:
    """~270 real documents (every stage on, PII with its default preset), with exact and near
    copies for both dedup stages and bad records for the dead letters."""
    data = folder / "data"
    data.mkdir(parents=True)
    records = list(read_jsonl_zst(str(DATA / "libzstd-debian.jsonl.zst")))
    records += [{**r, "id": f"{r['id']}-copy"} for r in records[:5]]
    records += [{**r, "id": f"{r['id']}-near", "text": r["text"] + "\nOne more line."} for r in records[5:10]]
    (data / "debian.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    changelogs = list(read_jsonl_zst(str(DATA / "debian-changelogs.jsonl.zst")))[:CHANGELOGS]
    (data / "changelogs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in changelogs), encoding="utf-8")
    (data / "broken.jsonl").write_bytes(BROKEN)
    (folder / "recipe.yaml").write_text(RECIPE)
    return folder / "recipe.yaml"


@pytest.fixture
def portable(tmp_path):
    """A job service + worker pool that live as long as the test (scripts/portable.py Services)."""
    portable = _portable_module()
    env = {k: v for k, v in os.environ.items() if k not in DRIVER_ONLY_ENV}
    try:
        services = portable.services(tmp_path / "services", env=env, timeout=60)
        started = services.__enter__()
    except portable.ServiceError as e:
        pytest.fail(f"the portable runner's services did not start: {e}", pytrace=False)
    try:
        yield started
    finally:
        services.__exit__(None, None, None)  # stops both, and the workers, even when the test failed


class ListenWatch(threading.Thread):
    """Every address a process group listens on while it runs (Linux /proc; nothing elsewhere)."""

    def __init__(self, groups: list[int]):
        super().__init__(daemon=True)
        self.groups, self.seen, self.stop = set(groups), set(), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            with contextlib.suppress(OSError):
                self.seen |= _listening(self.groups)

    def __enter__(self) -> ListenWatch:
        if Path("/proc/net/tcp").exists():
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.is_alive():
            self.join()


def _listening(groups: set[int]) -> set[str]:
    """host:port of every TCP socket that a process in one of `groups` listens on."""
    inodes = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) not in groups:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host, port = fields[1].split(":")
                found.add(f"{_ip(host)}:{int(port, 16)}")
    return found


def _ip(hex_host: str) -> str:
    raw = bytes.fromhex(hex_host)  # in 32-bit words, each in host (little-endian) order
    address = ipaddress.ip_address(b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))
    if address.version == 6 and address.ipv4_mapped:  # a dual-stack socket bound to an IPv4 address
        address = address.ipv4_mapped
    return str(address) if address.version == 4 else f"[{address}]"


def _loopback(address: str) -> bool:
    return ipaddress.ip_address(address.rsplit(":", 1)[0].strip("[]")).is_loopback


def _run(recipe: Path, output: Path, beam_args: list[str], capsys) -> tuple[Path, str]:
    code = main(["run", str(recipe), "--output", str(output), "--", *beam_args])
    out = capsys.readouterr().out
    assert code == 0, out
    version = output / "portable" / "v1"
    assert out.strip().splitlines()[-1] == str(version)
    digest = next(line.split()[-1] for line in out.splitlines() if line.startswith("snapshot digest"))
    return version, digest


def test_workers_turn_the_tokenizers_thread_pool_off_themselves():
    """A local run's workers inherit the driver's environment, a pool's or a cluster's do not: the
    modules the workers import set what they need (see beam/cputime.py)."""
    env = {k: v for k, v in os.environ.items() if k not in DRIVER_ONLY_ENV}
    code = "import os, opencorpus.beam.write; print(os.environ.get('TOKENIZERS_PARALLELISM'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "false"


@pytest.mark.slow
def test_portable_runner_publishes_the_local_runs_snapshot(tmp_path, portable, capsys):
    recipe = make_recipe(tmp_path / "recipe")
    local, local_digest = _run(recipe, tmp_path / "local", [], capsys)
    with ListenWatch(portable.pids) as watch:  # (sees nothing without Linux's /proc)
        remote, remote_digest = _run(recipe, tmp_path / "portable", portable.beam_args, capsys)
    # The job service, the worker pool and the servers the job service starts for each job's
    # workers (control, data, state, logging) listen on the loopback interface only.
    assert all(map(_loopback, watch.seen)), watch.seen
    assert watch.seen or not Path("/proc/net/tcp").exists()

    # The digest is the sha256 of manifest.json, which lists every data file with its sha256.
    assert remote_digest == local_digest
    manifest = (local / layout.MANIFEST).read_bytes()
    assert (remote / layout.MANIFEST).read_bytes() == manifest
    assert hashlib.sha256(manifest).hexdigest() == local_digest
    listed = [f["path"] for f in json.loads(manifest)["files"]]
    assert layout.STATS in listed and any(p.startswith("tokens/") for p in listed)
    for path in listed:
        assert (remote / path).read_bytes() == (local / path).read_bytes(), path
    # Nothing else was left behind (scratch frames, temporary files): only the run facts differ.
    assert sorted(storage.list_files(str(remote))) == sorted(storage.list_files(str(local)))

    stats = json.loads((local / layout.STATS).read_text())
    assert stats["counts"]["removed"]["dedup"] and stats["counts"]["removed"]["near_dedup"]
    assert stats["counts"]["dead_letter"] and stats["pii"]["EMAIL_ADDRESS"] > 0

    # run.json: what ran where, and the CPU per step, read from Beam metrics over the Job API.
    local_run, remote_run = (json.loads((v / layout.RUN).read_text()) for v in (local, remote))
    assert (local_run["runner"], remote_run["runner"]) == ("FnApiRunner", "PortableRunner")
    local_steps = {s["stage"] for s in local_run["stages_cpu"]} - {RUNNER_STEP}
    assert {s["stage"] for s in remote_run["stages_cpu"]} == local_steps
