"""CPU seconds per step, as Beam counters, so every runner sums them across workers.

Each step charges the CPU time of the thread that runs it (time.thread_time): other bundles
and the harness's own threads in the same process are not counted. The driver reads the
totals after the run (`cpu_seconds`) for run.json and the summary; they vary from run to run,
so they stay out of stats.json, whose bytes must not.

Runners give each worker process a core (FnApiRunner here: one per core; Dataflow: one per
vCPU). The Rust tokenizers library would add its own thread pool in each, oversubscribing
the cores and hiding its CPU time from the thread that `charged_to` measures. Importing
this module turns that pool off in the process, so every worker does it itself, whatever
started it: an environment variable set by the driver reaches only local workers (its
children), not a worker pool's or a cluster's. An explicit TOKENIZERS_PARALLELISM wins.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

NAMESPACE = "opencorpus.cpu"
_MICROS = 1_000_000
_COUNTERS: dict[str, Any] = {}


@contextlib.contextmanager
def charged_to(step: str) -> Iterator[None]:
    """Charge the CPU time of this block, in this thread, to `step`. Beam's metrics live in the
    thread that runs the bundle: work in a helper thread is measured with `ThreadCpu` instead."""
    start = time.thread_time()
    try:
        yield
    finally:
        charge(step, time.thread_time() - start)


def charge(step: str, seconds: float) -> None:
    counter = _COUNTERS.get(step)
    if counter is None:  # the counter finds the running bundle's container at each inc
        counter = _COUNTERS[step] = Metrics.counter(NAMESPACE, step)
    counter.inc(int(seconds * _MICROS))


class ThreadCpu:
    """CPU seconds summed over calls made in any thread; charged later from the bundle's thread."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        start = time.thread_time()
        try:
            yield
        finally:
            with self._lock:
                self.seconds += time.thread_time() - start


def cpu_seconds(result: Any) -> dict[str, float]:
    """step -> CPU seconds, from a finished PipelineResult (empty if the runner has no metrics)."""
    return {step: micros / _MICROS for step, micros in counter_totals(result, NAMESPACE).items()}


def counter_totals(result: Any, namespace: str) -> dict[str, int]:
    """counter name -> total over every step and worker, from a finished PipelineResult."""
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]
    except (AttributeError, NotImplementedError, KeyError):
        return {}
    totals: dict[str, int] = {}
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return totals


def stage_table(seconds: dict[str, float]) -> list[dict[str, Any]]:
    """[{stage, cpu_seconds, share}], most expensive first: what run.json and the summary show."""
    total = sum(seconds.values()) or 1.0
    return [{"stage": step, "cpu_seconds": round(s, 3), "share": round(s / total, 4)}
            for step, s in sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))]
