"""Running the graph: the in-process FnApiRunner locally, any Beam runner when asked.

Beam's default runner would download the Prism binary at run time, so a run without
`--runner` uses FnApiRunner explicitly, multi-process with one worker per core.
"""

from __future__ import annotations

import logging
import os

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from opencorpus.beam.pipeline import CurateCorpus, Plan

log = logging.getLogger(__name__)


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """Beam options as given, with local defaults filled in when no runner was named."""
    options = PipelineOptions(beam_args)
    if options.view_as(StandardOptions).runner is None:
        direct = options.view_as(DirectOptions)
        if direct.direct_num_workers == 1 and "--direct_num_workers" not in " ".join(beam_args):
            direct.direct_num_workers = os.cpu_count() or 1
        if direct.direct_running_mode == "in_memory" and "--direct_running_mode" not in " ".join(beam_args):
            direct.direct_running_mode = "multi_processing" if direct.direct_num_workers > 1 else "in_memory"
    return options


def run_plan(plan: Plan, beam_args: list[str]) -> str:
    """Run the curation graph to completion; returns the runner's name."""
    options = pipeline_options(beam_args)
    runner_name = options.view_as(StandardOptions).runner
    runner = runner_name or FnApiRunner()
    if runner_name is None:
        direct = options.view_as(DirectOptions)
        log.info("runner: FnApiRunner (%s, %d workers)", direct.direct_running_mode, direct.direct_num_workers)
    with beam.Pipeline(runner=runner, options=options) as p:
        _ = p | "Curate" >> CurateCorpus(plan)
    return runner_name or "FnApiRunner"
