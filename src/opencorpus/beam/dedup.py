"""ExactDedup: group by canonical hash, keep one deterministic survivor per group."""

from __future__ import annotations

import apache_beam as beam

from opencorpus.stages.dedup import resolve_exact_duplicates

REMOVED = "removed"


def _resolve(group):
    _, docs = group
    survivor, removed = resolve_exact_duplicates(docs)
    yield survivor
    for r in removed:
        yield beam.pvalue.TaggedOutput(REMOVED, r)


class ExactDedup(beam.PTransform):
    """documents -> (survivors, removed copies)."""

    def expand(self, docs):
        results = (
            docs
            | "ByHash" >> beam.Map(lambda d: (d.metadata["sha256"], d))
            | "Group" >> beam.GroupByKey()
            | "Survivor" >> beam.FlatMap(_resolve).with_outputs(REMOVED, main="docs")
        )
        return results.docs, results[REMOVED]
