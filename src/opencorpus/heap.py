"""Long-lived objects kept out of the garbage collector's sweeps, in processes that end with the run.

A Beam worker holds Beam's modules, the stages' libraries and their engines (spaCy's vocabulary,
Presidio's recognizers) until it exits: over a million objects that every full collection
traverses again, and the last one at exit too (about 0.4 s per process, spent in the run's wall
time, as FnApiRunner stops its workers one after the other). gc.freeze moves the objects alive
now to a generation the collector never sweeps; they are still freed by reference counting, but
reference cycles among them never are. So only processes that end with the run freeze: a driver
or a test process that builds pipeline after pipeline (graphs full of cycles) does not.
"""

from __future__ import annotations

import gc
import sys
from typing import NoReturn

# What a Beam SDK worker process runs, locally (FnApiRunner's subprocesses) and on Dataflow.
_WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"


def in_beam_worker() -> bool:
    """Whether this process is a Beam SDK worker."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == _WORKER_MAIN


def keep_long_lived() -> None:
    """In a Beam worker, freeze every object alive now (see above); elsewhere nothing."""
    if in_beam_worker():
        gc.freeze()


def exit_unswept(status: int) -> NoReturn:
    """End the program with `status`, the collector's sweep at exit skipped."""
    gc.freeze()
    sys.exit(status)
