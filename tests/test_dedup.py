from opencorpus.document import Document
from opencorpus.stages.dedup import resolve_exact_duplicates


def doc(id_, source, license="MIT"):
    return Document(id=id_, text="same", source=source, metadata={"sha256": "h", "license": license})


def test_smallest_id_survives_and_lists_its_copies():
    survivor, removed = resolve_exact_duplicates([doc("b/2", "b", "GPL-2.0-only"), doc("a/9", "a"), doc("c/1", "c", "NOASSERTION")])
    assert survivor.id == "a/9"
    assert survivor.metadata["duplicates"] == [{"id": "b/2", "source": "b", "license": "GPL-2.0-only"},
                                               {"id": "c/1", "source": "c", "license": "NOASSERTION"}]
    assert [(r.id, r.stage, r.reason, r.sha256, r.details) for r in removed] == [
        ("b/2", "dedup", "exact-duplicate", "h", {"duplicate_of": "a/9"}),
        ("c/1", "dedup", "exact-duplicate", "h", {"duplicate_of": "a/9"}),
    ]


def test_order_of_arrival_does_not_matter():
    a = resolve_exact_duplicates([doc("x/1", "x"), doc("y/1", "y")])
    b = resolve_exact_duplicates([doc("y/1", "y"), doc("x/1", "x")])
    assert a[0].id == b[0].id == "x/1" and [r.id for r in a[1]] == [r.id for r in b[1]]


def test_single_document_is_untouched():
    survivor, removed = resolve_exact_duplicates([doc("a/1", "a")])
    assert removed == [] and "duplicates" not in survivor.metadata
