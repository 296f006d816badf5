"""ExactDedup: members grouped by canonical hash, one deterministic survivor per group."""

from __future__ import annotations

import apache_beam as beam

from opencorpus.stages.dedup import resolve_exact_duplicates

REMOVED = "removed"
VERDICTS = "verdicts"


def _resolve(group):
    _, members = group
    survivor, verdicts, removed = resolve_exact_duplicates(members)
    yield survivor.node, survivor
    for v in verdicts:
        yield beam.pvalue.TaggedOutput(VERDICTS, v)
    for r in removed:
        yield beam.pvalue.TaggedOutput(REMOVED, r)


class ExactDedup(beam.PTransform):
    """(node, Member) of every document -> ((node, Member) of survivors, verdicts, removed copies).

    Only members cross the shuffle: the texts wait in scratch files (beam/spill.py).
    """

    def expand(self, members):
        results = (
            members
            | "ByHash" >> beam.MapTuple(lambda _, m: (m.sha256, m))
            | "Group" >> beam.GroupByKey()
            | "Survivor" >> beam.FlatMap(_resolve).with_outputs(VERDICTS, REMOVED, main="survivors")
        )
        return results.survivors, results[VERDICTS], results[REMOVED]
