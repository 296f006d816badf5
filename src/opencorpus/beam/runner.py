"""Running the graph: the in-process FnApiRunner locally, any Beam runner when asked.

Beam's default runner would download the Prism binary at run time, so a run without
`--runner` uses FnApiRunner explicitly, multi-process with one worker per core.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import sys
import threading
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions, WorkerOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from opencorpus.beam import dataflow
from opencorpus.beam.cputime import counter_totals, cpu_seconds
from opencorpus.beam.pipeline import CurateCorpus, Plan
from opencorpus.beam.read import CACHE_METRICS

log = logging.getLogger(__name__)


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """Beam options as given, with local defaults filled in when no runner was named."""
    options = PipelineOptions(beam_args)
    if options.view_as(StandardOptions).runner is None:
        given = {arg.split("=", 1)[0] for arg in beam_args}
        direct = options.view_as(DirectOptions)
        if "--direct_num_workers" not in given:
            direct.direct_num_workers = os.cpu_count() or 1
        if "--direct_running_mode" not in given and direct.direct_num_workers > 1:
            direct.direct_running_mode = "multi_processing"
        # Worker processes forward every INFO line of the Beam harness; keep warnings and errors.
        if "--default_sdk_harness_log_level" not in given:
            options.view_as(WorkerOptions).default_sdk_harness_log_level = "WARNING"
    return options


def run_plan(plan: Plan, beam_args: list[str]) -> tuple[str, dict[str, float], dict[str, int]]:
    """Run the curation graph to completion; returns the runner's name, CPU seconds per step and
    what the run cache gave and took (beam/read.py CACHE_METRICS)."""
    options = pipeline_options(beam_args)
    runner_name = options.view_as(StandardOptions).runner
    runner = runner_name or FnApiRunner()
    if runner_name is None:
        direct = options.view_as(DirectOptions)
        log.info("[run]        FnApiRunner, %s, %d workers", direct.direct_running_mode, direct.direct_num_workers)
    if dataflow.is_dataflow(options) and dataflow.dry_run_requested(options):
        raise ValueError("a Dataflow dry run is not a run: see opencorpus.beam.dataflow.dry_run")
    before = _cpu_of_this_process_and_children()
    # Dataflow's workers get the lock, the spaCy model and our wheel staged (unless a container has them).
    with _harness_noise_filtered(runner_name is None), dataflow.worker_packages(plan.recipe, options):
        p = beam.Pipeline(runner=runner, options=options)
        _ = p | "Curate" >> CurateCorpus(plan)
        result = p.run()
        result.wait_until_finish()
    seconds = cpu_seconds(result)
    if runner_name is None:  # local workers are this process's threads or children: the rest is Beam's
        seconds[RUNNER_STEP] = max(0.0, _cpu_of_this_process_and_children() - before - sum(seconds.values()))
    return runner_name or "FnApiRunner", seconds, counter_totals(result, CACHE_METRICS)


# What local runs spend beyond the steps: process start-up, Beam's encoding, shuffles and
# harness, and work in threads no step measures (the tokenizer trainer's).
RUNNER_STEP = "other (start-up, Beam)"


def _cpu_of_this_process_and_children() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# Lines Beam's local worker processes print at INFO whatever the options say (their log level
# is hard-coded at start-up and they inherit our stderr); warnings and errors still pass.
_HARNESS_NOISE = re.compile(rb"^(INFO:|Worker: severity: INFO|WARNING:root:apitools|.*semi_persistent_directory)")


@contextlib.contextmanager
def _harness_noise_filtered(local: bool) -> Iterator[None]:
    """While a local run lasts, drop the harness's INFO chatter from stderr (file descriptor 2)."""
    if not local:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(os.dup(saved), "wb", buffering=0) as out:
            for line in pipe:
                if not _HARNESS_NOISE.match(line):
                    out.write(line)

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end once the workers have exited
        os.close(saved)
        thread.join(timeout=5)
