"""Near-dedup pure logic: shingles, signatures, clusters and survivors (no Beam)."""

from __future__ import annotations

import json
import random
import tracemalloc

import numpy as np
import pytest

from opencorpus.document import canonical_hash
from opencorpus.recipe import RecipeError, parse_recipe
from opencorpus.stages.dedup import Member
from opencorpus.stages.licenses.policy import LicensePolicy, PolicyOptions
from opencorpus.stages.near_dedup import (
    MinHashParams,
    components,
    jaccard,
    permissiveness,
    resolve_cluster,
    shingle_hashes,
    signature,
    star_edges,
)

from conftest import (
    NEAR_DUP_DATA,
    NEAR_DUP_RECIPE,
    near_dup_doc,
    near_dup_options,
    near_dup_real_docs,
    near_dup_truth_clusters,
    near_duplicates,
)


def test_shingles_follow_the_truth_definition():
    def same(a, b):
        return shingle_hashes(a).tolist() == shingle_hashes(b).tolist()

    assert shingle_hashes("").size == 0 and shingle_hashes("  ,;- ").size == 0
    assert shingle_hashes("Hello, WORLD").size == 1 and same("Hello, WORLD", "hello world")  # < n words: one shingle
    assert not same("hello world", "world hello") and not same("hello world", "hello")
    assert shingle_hashes("a b c d e f").size == 2 and same("a b c d e f", "A-b-c d e f!")
    assert same("Cafe\u0301 x y z w", "CAF\u00c9 x y z w")  # NFC, then lower case
    assert shingle_hashes("a b c d e f a b c d e").size == 6  # a set: the repeated shingle counts once
    assert shingle_hashes("a b c d e f", ngram=2).size == 5


def test_exact_jaccard_matches_the_recorded_truth():
    docs = {d.id: d for d in near_dup_real_docs()}
    for p in map(json.loads, open(NEAR_DUP_DATA / "pairs.jsonl", encoding="utf-8")):
        a, b = (shingle_hashes(docs[f"near-dup/{k}"].text) for k in (p["a"], p["b"]))
        assert jaccard(a, b) == pytest.approx(p["jaccard"], abs=1e-6), (p["a"], p["b"])


def test_signature_equals_datatrove_minhash_for_the_same_shingles_and_seed():
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    params = MinHashParams(ngram=5, bands=15, rows=7, threshold=0.8, seed=3)
    config = MinhashConfig(num_buckets=15, hashes_per_bucket=7, seed=3, hash_config=HashConfig(precision=64))
    hashes = shingle_hashes(near_dup_real_docs()[0].text)
    minhash = MinhashDedupSignature("memory://sigs", config=config)
    assert signature(hashes, params).reshape(15, 7).tolist() == minhash.get_signature(hashes.reshape(-1, 1))
    # h with a*h + b = 2^64 - 1 (mod 2^64) folds to P + 7 >= P in that permutation, the rare case
    # that needs the final subtraction; random shingle hashes practically never reach it.
    a, b = (p.ravel().tolist() for p in minhash.parameters)
    k = next(i for i, v in enumerate(a) if v % 2)  # odd a: invertible modulo 2^64
    h = (2**64 - 1 - b[k]) * pow(a[k], -1, 2**64) % 2**64
    crafted = np.unique(np.concatenate([hashes, np.array([h], dtype=np.uint64)]))
    ours = signature(crafted, params)
    assert ours.reshape(15, 7).tolist() == minhash.get_signature(crafted.reshape(-1, 1)) and ours[k] <= 7


def test_signature_of_a_10_mb_document_needs_bounded_memory():
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(5000)]
    text = " ".join(rng.choices(vocabulary, k=1_750_000))
    assert len(text) > 10_000_000
    hashes = shingle_hashes(text)
    params = MinHashParams(ngram=5, bands=15, rows=7, threshold=0.8, seed=0)
    tracemalloc.start()
    sig = signature(hashes, params)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # A (shingles x permutations) matrix would be ~1.4 GB; blocks keep the peak to a few MB.
    assert peak < 64 * 2**20
    assert sig.shape == (105,) and (sig == signature(hashes[:100_000], params)).sum() < 105  # all shingles count


def test_star_edges_are_linear_in_the_bucket_size():
    nodes = [f"n{i:05d}" for i in range(10_000)] * 2
    edges = star_edges(nodes)
    assert len(edges) == 9_999 and {v for _, v in edges} == {"n00000"}


def test_union_find_roots_each_component_at_its_smallest_node():
    roots = components([("c", "b"), ("e", "d"), ("b", "a"), ("f", "e")])
    assert roots == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "f": "d"}
    chain = [(f"{i + 1:06d}", f"{i:06d}") for i in range(100_000)]  # deep chain: no recursion limit
    assert set(components(reversed(chain)).values()) == {"000000"}


def test_most_permissive_license_ranks_the_policys_categories():
    """The policy decides what an expression is (an OR its best choice, an AND its worst part); the
    survivor rule only ranks its categories: CC-BY-NC-4.0 is non-commercial, above unknown."""
    policy = LicensePolicy(PolicyOptions.from_options(parse_recipe(NEAR_DUP_RECIPE).stage("license")))
    ranked = ["CC0-1.0", "MIT", "BSD-3-Clause OR GPL-2.0-only", "MPL-2.0", "MIT AND GPL-3.0-or-later",
              "CC-BY-NC-4.0", "NOASSERTION"]
    categories = [policy.category(e) for e in ranked]
    assert categories == ["public-domain", "permissive", "permissive", "weak-copyleft", "copyleft",
                          "non-commercial", "unknown"]
    assert [permissiveness(c) for c in categories] == sorted(permissiveness(c) for c in categories)
    assert permissiveness(None) == permissiveness("unknown") > permissiveness("non-commercial")


def member(doc_id, sha, license=None, duplicates=()):
    category = None
    if license:
        category = LicensePolicy(PolicyOptions.from_options(parse_recipe(NEAR_DUP_RECIPE).stage("license"))).category(license)
    return Member(node=f"{sha} {doc_id}", id=doc_id, source="s", sha256=sha, license=license,
                  license_category=category, duplicates=duplicates)


def test_survivor_rules_and_removed_records():
    members = [member("s/b", "22", "GPL-2.0-only"), member("s/a", "33", "MIT"), member("s/c", "11", None)]
    verdicts, removed = resolve_cluster(members)
    assert verdicts[0].node == "11 s/c"
    assert [e["id"] for e in verdicts[0].duplicates] == ["s/a", "s/b"]
    assert {v.node for v in verdicts[1:]} == {"22 s/b", "33 s/a"} and all(v.duplicates is None for v in verdicts[1:])
    assert {r.id: r.details for r in removed}["s/a"] == {"cluster": "11", "survivor_sha256": "11", "duplicate_of": "s/c"}
    assert all(r.stage == "near_dedup" and r.reason == "near-duplicate" for r in removed)
    verdicts, removed = resolve_cluster(members, "most-permissive-license")
    assert verdicts[0].node == "33 s/a" and {r.details["cluster"] for r in removed} == {"11"}  # cluster id: smallest hash
    ties = [member("s/y", "55", "MIT"), member("s/x", "55", "Apache-2.0")]  # same rank, same hash: smallest id
    assert resolve_cluster(ties, "most-permissive-license")[0][0].node == "55 s/x"
    with pytest.raises(ValueError, match="unknown survivor rule 'newest'"):
        resolve_cluster(members, "newest")


def test_survivor_appends_to_exact_dedup_list_and_inherits_removed_copies():
    text = " ".join(f"word{i}" for i in range(60))
    kept = near_dup_doc("s/a", text, duplicates=[{"id": "s/a2", "source": "s", "license": "MIT"}])
    gone = near_dup_doc("s/b", text + " tail", duplicates=[{"id": "s/b2", "source": "s", "license": "MIT"}])
    if kept.metadata["sha256"] > gone.metadata["sha256"]:
        kept, gone = gone, kept
    before = [dict(d.metadata) for d in (kept, gone)]
    [survivor], removed = near_duplicates([kept, gone], near_dup_options())
    assert survivor.id == kept.id and [r.id for r in removed] == [gone.id]
    listed = [e["id"] for e in survivor.metadata["duplicates"]]
    assert listed[0] == kept.metadata["duplicates"][0]["id"] and len(listed) == 3
    assert set(listed[1:]) == {gone.id, gone.metadata["duplicates"][0]["id"]}
    assert [d.metadata for d in (kept, gone)] == before  # its inputs are left as they were


def test_real_near_duplicates_form_the_truth_clusters():
    docs = near_dup_real_docs()
    survivors, removed = near_duplicates(docs, near_dup_options())
    truth = near_dup_truth_clusters()
    by_survivor: dict[str, set[str]] = {}
    for r in removed:
        by_survivor.setdefault(r.details["duplicate_of"], {r.details["duplicate_of"]}).add(r.id)
    assert {frozenset(c) for c in by_survivor.values()} == truth
    assert len(survivors) + len(removed) == len(docs)
    # borderline pairs (0.7 <= J < 0.8) in the data stay apart: LSH finds them, the exact check rejects them
    unverified = near_duplicates(near_dup_real_docs(), near_dup_options(verify=False))[1]
    assert len(unverified) > len(removed)


def test_empty_and_one_word_documents():
    docs = [near_dup_doc("s/e1", ""), near_dup_doc("s/e2", "  \n"), near_dup_doc("s/w1", "Hello"),
            near_dup_doc("s/w2", "hello!"), near_dup_doc("s/w3", "bye")]
    survivors, removed = near_duplicates(docs, near_dup_options())
    assert {d.id for d in survivors} == {"s/e1", "s/e2", "s/w3", min(["s/w1", "s/w2"], key=lambda i: (
        canonical_hash("Hello" if i == "s/w1" else "hello!"), i))}
    assert len(removed) == 1 and removed[0].id in {"s/w1", "s/w2"}


def test_recipe_resolves_and_validates_near_dedup_options():
    opts = parse_recipe(NEAR_DUP_RECIPE).stage("near_dedup")
    assert (opts["bands"], opts["rows"]) == (15, 7) and opts["num_perm"] == 105  # derived from threshold 0.8
    # a pair at the threshold is a candidate with probability >= 0.95
    assert 1 - (1 - 0.8 ** opts["rows"]) ** opts["bands"] >= 0.95
    given = parse_recipe(NEAR_DUP_RECIPE + "stages: {near_dedup: {bands: 20}}\n").stage("near_dedup")
    assert (given["bands"], given["rows"], given["num_perm"]) == (20, 5, 100)
    assert parse_recipe(NEAR_DUP_RECIPE + "stages: {near_dedup: false}\n").stage("near_dedup") is None
    for bad, message in [("{threshold: 1.5}", "stages.near_dedup.threshold: expected a Jaccard similarity"),
                         ("{rounds: 0}", "stages.near_dedup.rounds: expected a positive integer"),
                         ("{verify: 'yes'}", "stages.near_dedup.verify: expected true or false"),
                         ("{survivor: oldest}", "stages.near_dedup.survivor: expected smallest-hash"),
                         ("{band: 3}", "unknown key 'band' (did you mean 'bands'?)")]:
        with pytest.raises(RecipeError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
            parse_recipe(NEAR_DUP_RECIPE + f"stages: {{near_dedup: {bad}}}\n")


def test_signature_rejects_an_empty_shingle_set():
    with pytest.raises(ValueError, match="at least one shingle"):
        signature(np.array([], dtype=np.uint64), MinHashParams(ngram=5, bands=15, rows=7, threshold=0.8, seed=0))


def test_most_permissive_license_needs_the_license_stage():
    with pytest.raises(RecipeError, match="near_dedup.survivor: most-permissive-license ranks the license stage"):
        parse_recipe(NEAR_DUP_RECIPE + "stages: {license: false, near_dedup: {survivor: most-permissive-license}}\n")
