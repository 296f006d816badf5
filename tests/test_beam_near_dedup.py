"""NearDedup on Beam (FnApiRunner, in_memory): same clusters as union-find, bad input, convergence."""

from __future__ import annotations

import pickle
import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from opencorpus.beam.near_dedup import GATHER_LIMIT, ConnectedComponents, NearDedup, NotConvergedError
from opencorpus.beam.spill import SpillDocuments
from opencorpus.stages.dedup import Member, apply_verdicts, doc_node
from opencorpus.stages.near_dedup import components

from conftest import near_dup_doc, near_dup_options, near_dup_real_docs, near_dup_truth_clusters, near_duplicates


def _dump(values, path):
    with open(path, "wb") as f:
        pickle.dump(sorted(values, key=repr), f)


SLICES = 5


def run(build, inputs, tmp_path) -> list:
    """Run `build(pcollection) -> tuple of pcollections` in process; returns each output as a sorted list."""
    with beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(direct_running_mode="in_memory")) as p:
        outputs = build(p | beam.Create(inputs, reshuffle=False))
        for i, pc in enumerate(outputs):
            pc | f"List{i}" >> beam.combiners.ToList() | f"Dump{i}" >> beam.Map(_dump, str(tmp_path / f"out{i}.pkl"))
    return [pickle.load(open(tmp_path / f"out{i}.pkl", "rb")) for i in range(len(outputs))]


def dedup(docs, tmp_path, gather_limit=GATHER_LIMIT, **overrides):
    """NearDedup's verdicts applied to the documents: (survivors, removed), each by id."""
    def build(pc):
        members = pc | "Members" >> beam.Map(lambda d: (doc_node(d), Member.of(d)))
        frames = pc | "Spill" >> SpillDocuments(str(tmp_path / "scratch"), SLICES, spill_chars=20_000)
        return (pc, members, frames) | NearDedup(near_dup_options(**overrides), SLICES, gather_limit)

    verdicts, removed = run(build, docs, tmp_path)
    by_node: dict[str, list] = {}
    for v in verdicts:
        by_node.setdefault(v.node, []).append(v)
    kept = [apply_verdicts(d, by_node.get(doc_node(d), [])) for d in docs]
    return sorted((d for d in kept if d is not None), key=lambda d: d.id), sorted(removed, key=lambda r: r.id)


@pytest.mark.parametrize("gather_limit", [0, GATHER_LIMIT], ids=["star-rounds", "gathered"])
def test_beam_clusters_equal_the_single_process_union_find_on_real_data(tmp_path, gather_limit):
    survivors, removed = dedup(near_dup_real_docs(), tmp_path, gather_limit)
    expected_survivors, expected_removed = near_duplicates(near_dup_real_docs(), near_dup_options())
    assert [r.to_record() for r in removed] == [r.to_record() for r in expected_removed]
    assert [d.to_dolma() for d in survivors] == sorted((d.to_dolma() for d in expected_survivors), key=lambda d: d["id"])
    clusters: dict[str, set[str]] = {}
    for r in removed:
        clusters.setdefault(r.details["cluster"], {r.details["duplicate_of"]}).add(r.id)
    assert {frozenset(c) for c in clusters.values()} == near_dup_truth_clusters()
    kept = {d.id: d for d in survivors}
    for r in removed:  # each survivor lists its removed copies with source and license
        survivor = kept[r.details["duplicate_of"]]
        assert {"id": r.id, "source": r.source, "license": "NOASSERTION"} in survivor.metadata["duplicates"]
        assert r.details["survivor_sha256"] == survivor.metadata["sha256"]


def random_graph() -> list[tuple[str, str]]:
    rng = random.Random(7)
    nodes = [f"n{i:04d}" for i in range(400)]
    rng.shuffle(nodes)  # long paths whose labels are not in path order: the hard case for star rounds
    edges = [(max(a, b), min(a, b)) for a, b in zip(nodes, nodes[1:]) if rng.random() < 0.9]
    return edges + [(max(a, b), min(a, b)) for a, b in (rng.sample(nodes, 2) for _ in range(60))]


def test_large_and_small_star_rounds_give_union_find_components(tmp_path):
    edges = random_graph()
    (roots,) = run(lambda pc: (pc | ConnectedComponents(rounds=12, gather_limit=0),), edges, tmp_path)
    expected = components(edges)
    assert dict(roots) == expected and set(roots) == set(expected.items())  # one root per node


def test_small_inputs_take_the_union_find_shortcut_with_the_same_roots(tmp_path):
    edges = random_graph()
    # one round could never connect these paths: only the gathered union-find can give the right roots
    (roots,) = run(lambda pc: (pc | ConnectedComponents(rounds=1, gather_limit=len(edges)),), edges, tmp_path)
    assert sorted(roots) == sorted(components(edges).items())  # each node exactly once


def test_unconverged_components_fail_with_a_clear_message(tmp_path):
    path = [(f"n{i + 1:03d}", f"n{i:03d}") for i in range(64)]
    with pytest.raises(Exception, match=r"did not converge in 1 rounds \(\d+ edges changed in the last round\); "
                                        r"raise stages.near_dedup.rounds") as info:
        run(lambda pc: (pc | ConnectedComponents(rounds=1, gather_limit=0),), path, tmp_path)
    assert isinstance(info.value, NotConvergedError) or "NotConvergedError" in str(info.value)


def test_empty_one_word_and_10_mb_documents(tmp_path):
    words = random.Random(1).choices([f"w{i}" for i in range(3000)], k=1_750_000)
    big, mid = " ".join(words), " ".join(words[:100_000])  # > 10 MB, and a 600 kB near-duplicate pair
    docs = [near_dup_doc("s/empty1", ""), near_dup_doc("s/empty2", " \n "), near_dup_doc("s/word1", "Hello"),
            near_dup_doc("s/word2", "HELLO."), near_dup_doc("s/word3", "bye"), near_dup_doc("s/big", big),
            near_dup_doc("s/mid", mid), near_dup_doc("s/mid-edited", mid + " one more line")]
    survivors, removed = dedup(docs, tmp_path, rounds=2)
    kept = {d.id for d in survivors}
    assert {"s/empty1", "s/empty2", "s/word3", "s/big"} <= kept  # no shingles, or no near copy
    assert len(kept & {"s/word1", "s/word2"}) == 1 and len(kept & {"s/mid", "s/mid-edited"}) == 1
    assert len(removed) == 2 and len(survivors) == 6


def test_ten_thousand_identical_documents_make_one_cluster(tmp_path):
    same = "the same small document, copied ten thousand times over"
    docs = ([near_dup_doc(f"copies/{i:05d}", same) for i in range(10_000)]
            + [near_dup_doc("s/other", "a different document entirely")])
    survivors, removed = dedup(docs, tmp_path, rounds=2)
    assert [d.id for d in survivors] == ["copies/00000", "s/other"]  # same hash: the smallest id survives
    assert len(removed) == 9_999 and {r.details["duplicate_of"] for r in removed} == {"copies/00000"}
    assert len(survivors[0].metadata["duplicates"]) == 9_999
