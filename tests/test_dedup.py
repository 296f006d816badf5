from opencorpus.document import Document
from opencorpus.stages.dedup import Member, apply_verdicts, resolve_exact_duplicates


def member(id_, source, license="MIT"):
    return Member.of(Document(id=id_, text="same", source=source, metadata={"sha256": "h", "license": license},
                              location=f"{source}.jsonl:1"))


def test_smallest_id_survives_and_lists_its_copies():
    survivor, verdicts, removed = resolve_exact_duplicates(
        [member("b/2", "b", "GPL-2.0-only"), member("a/9", "a"), member("c/1", "c", "NOASSERTION")])
    assert survivor.id == "a/9"
    assert survivor.duplicates == ({"id": "b/2", "source": "b", "license": "GPL-2.0-only"},
                                   {"id": "c/1", "source": "c", "license": "NOASSERTION"})
    assert [(v.id, v.duplicates is None) for v in verdicts] == [("a/9", False), ("b/2", True), ("c/1", True)]
    assert [(r.id, r.stage, r.reason, r.sha256, r.details) for r in removed] == [
        ("b/2", "dedup", "exact-duplicate", "h", {"duplicate_of": "a/9"}),
        ("c/1", "dedup", "exact-duplicate", "h", {"duplicate_of": "a/9"}),
    ]


def test_order_of_arrival_does_not_matter():
    a = resolve_exact_duplicates([member("x/1", "x"), member("y/1", "y")])
    b = resolve_exact_duplicates([member("y/1", "y"), member("x/1", "x")])
    assert a == b and a[0].id == "x/1"


def test_single_document_is_untouched():
    survivor, verdicts, removed = resolve_exact_duplicates([member("a/1", "a")])
    assert verdicts == [] and removed == [] and survivor.duplicates == ()


def test_two_records_with_one_id_and_text_are_two_documents():
    twins = [Member.of(Document(id="a/1", text="same", source="a", metadata={"sha256": "h"}, location=f"a.jsonl:{n}"))
             for n in (1, 2)]
    survivor, verdicts, removed = resolve_exact_duplicates(twins)
    assert survivor.node[2] == "a.jsonl:1" and len(removed) == 1
    assert [v.node for v in verdicts if v.duplicates is None] == [twins[1].node]


def test_verdicts_list_exact_copies_before_near_ones_and_any_removal_wins():
    survivor, verdicts, _ = resolve_exact_duplicates([member("a/1", "a"), member("b/1", "b")])
    near = verdicts[0].__class__(survivor.node, survivor.id, 1, ({"id": "n/1", "source": "n", "license": None},))
    doc = Document(id="a/1", text="same", source="a", metadata={"sha256": "h"}, location="a.jsonl:1")
    kept = apply_verdicts(doc, [near, verdicts[0]])
    assert [e["id"] for e in kept.metadata["duplicates"]] == ["b/1", "n/1"]
    assert doc.metadata == {"sha256": "h"}  # the input (out of a GroupByKey in Beam) is left as it was
    assert apply_verdicts(doc, [verdicts[1]]) is None


def test_finalize_fills_defaults_on_a_new_document_leaving_the_input_unchanged():
    from opencorpus.beam.write import finalize

    doc = Document(id="a/1", text="t", source="a", metadata={"sha256": "h", "license": "MIT"})
    done = finalize(doc)
    assert doc.metadata == {"sha256": "h", "license": "MIT"}
    assert done.metadata == {"sha256": "h", "sha256_published": "h", "license": "MIT", "license_evidence": [],
                             "language": None, "pii": {}, "duplicates": []}
