"""NearDedup: MinHash LSH candidates and connected components computed on the runner.

Nothing is gathered on one machine: buckets are GroupByKeys on (band, band hash), each bucket
becomes a star of edges, and clusters come from alternating large-star / small-star rounds
(Kiveris et al. 2014, "Connected Components in MapReduce and Beyond"). A Beam graph cannot
loop, so `rounds` rounds are unrolled and the edges the last round changed are counted: if
any, the run fails rather than return clusters that are not connected components. Only when
there are few candidate edges (GATHER_LIMIT) does one worker's union-find, which gives the same
roots, replace the rounds. Texts stay out of every shuffle: the sketches are made where the
documents are read, and the exact check reads the candidates' texts back from the spill,
slice by slice (beam/spill.py), so only candidates' shingle hashes are shipped, not every
document's (they take more bytes than the text).
"""

from __future__ import annotations

import itertools

import apache_beam as beam
import numpy as np

from opencorpus.beam.cputime import charged_to
from opencorpus.formats.documents import shard_of
from opencorpus.formats.scratch import read_frame
from opencorpus.stages.dedup import doc_node
from opencorpus.stages.near_dedup import (
    MinHashParams,
    NearDedupOptions,
    band_keys,
    components,
    jaccard,
    resolve_cluster,
    shingle_hashes,
    signature,
    star_edges,
)

REMOVED = "removed"


class NotConvergedError(RuntimeError):
    """Connected components needed more rounds than the recipe unrolled."""


def _sketch(doc, params: MinHashParams):
    """A document's LSH band keys, by node."""
    with charged_to("near_dedup"):
        hashes = shingle_hashes(doc.text, params.ngram)
        if hashes.size == 0:  # empty or word-less text: nothing to compare, never a near-duplicate
            return
        keys = band_keys(signature(hashes, params), params)
    yield doc_node(doc), keys


def _candidate_hashes(group, ngram: int):
    """(node, shingle hashes) of the candidates of one slice, read back from its spilled frames."""
    _, joined = group
    wanted = set(joined["candidates"])
    if not wanted:
        return
    with charged_to("near_dedup"):  # any order will do: no merge of the frames
        docs = itertools.chain.from_iterable(map(read_frame, joined["frames"]))
        found = [(node, shingle_hashes(doc.text, ngram).tobytes()) for doc in docs if (node := doc_node(doc)) in wanted]
    # bytes, not the array: Beam encodes bytes natively, an ndarray only through pickle
    yield from found


class CandidateHashes(beam.PTransform):
    """Candidate edges -> (node, shingle hashes) of every node on one, from the spilled frames."""

    def __init__(self, frames, slices: int, ngram: int):
        super().__init__()
        self.frames, self.slices, self.ngram = frames, slices, ngram

    def expand(self, edges):
        slices = self.slices
        candidates = (edges | "Nodes" >> beam.FlatMap(lambda edge: edge)
                      | "BySlice" >> beam.Map(lambda node: (shard_of(node[1], slices), node)))
        return ({"candidates": candidates, "frames": self.frames} | "Join" >> beam.CoGroupByKey()
                | "Hashes" >> beam.FlatMap(_candidate_hashes, self.ngram))


def _eligible_bands(group):
    """A node's band keys, if the node is a member (it survived exact dedup)."""
    node, joined = group
    if joined["member"]:
        for keys in joined["bands"]:
            for key in keys:
                yield key, node


def _roles(edge):
    spoke, centre = edge
    yield spoke, centre
    yield centre, None  # None marks a star centre


class _Roles(beam.CombineFn):
    """A node's part in the candidate stars: the centres it hangs from, and None if it is a centre.

    Near copies collide in many bands, so most candidate edges repeat: combining (which runners
    start before the shuffle) ships each node's roles once instead of once per band.
    """

    def create_accumulator(self) -> set:
        return set()

    def add_input(self, roles: set, role) -> set:
        roles.add(role)
        return roles

    def merge_accumulators(self, accumulators) -> set:
        return set().union(*accumulators)

    def extract_output(self, roles: set) -> set:
        return roles


def _to_centres(group):
    """A node's hashes go to each star centre it hangs from, and to itself when it is a centre."""
    node, joined = group
    for roles in joined["roles"]:  # one element, or none for a node on no candidate edge
        hashes = next(iter(joined["hashes"]))
        for centre in roles:
            yield (node, (None, hashes)) if centre is None else (centre, (node, hashes))


def _verified(group, threshold: float):
    centre, spokes = group
    own = np.frombuffer(next(h for n, h in spokes if n is None), dtype=np.uint64)
    for node, hashes in spokes:
        if node is not None and jaccard(np.frombuffer(hashes, dtype=np.uint64), own) >= threshold:
            yield node, centre


class VerifyEdges(beam.PTransform):
    """Candidate edges (spoke, centre) -> those whose exact shingle Jaccard reaches the threshold.

    Only nodes on an edge ship their shingle hashes, once per centre, and each centre compares
    its spokes against its own hashes.
    """

    def __init__(self, hashes, threshold: float):
        super().__init__()
        self.hashes, self.threshold = hashes, threshold

    def expand(self, edges):
        roles = edges | "Roles" >> beam.FlatMap(_roles) | "CombineRoles" >> beam.CombinePerKey(_Roles())
        return ({"roles": roles, "hashes": self.hashes} | "Join" >> beam.CoGroupByKey()
                | "ToCentres" >> beam.FlatMap(_to_centres)
                | "ByCentre" >> beam.GroupByKey()
                | "Jaccard" >> beam.FlatMap(_verified, self.threshold))


def _both_ways(edge):
    a, b = edge
    yield a, b
    yield b, a


def _large_star(group):
    """Connect every larger neighbour of u to the smallest node of u's neighbourhood."""
    u, neighbours = group
    neighbours = set(neighbours)
    m = min(min(neighbours), u)
    for v in neighbours:
        if v > u:
            yield v, m


def _small_star(group):
    """Connect u and its smaller neighbours to the smallest of them."""
    u, smaller = group
    nodes = set(smaller) | {u}
    m = min(nodes)
    for v in nodes:
        if v != m:
            yield v, m


def _changed(group):
    _, sides = group
    if not sides["before"] or not sides["after"]:
        yield 1


def _assign(edge, changed: int, rounds: int):
    if changed:
        raise NotConvergedError(
            f"near_dedup: connected components did not converge in {rounds} rounds ({changed} edges changed "
            f"in the last round); raise stages.near_dedup.rounds")
    v, root = edge
    yield v, root
    yield root, root


# Up to this many candidate edges (a few hundred MB of node keys on one worker), one union-find
# is quicker than 2 x rounds shuffles; the issue allows it for small inputs: it gives the same roots.
GATHER_LIMIT = 1_000_000


def _union_find(group):
    _, edges = group
    yield from components(edges).items()


class ConnectedComponents(beam.PTransform):
    """Undirected edges (larger, smaller) -> (node, smallest node of its component), repeats possible.

    At most `gather_limit` edges go to one worker's union-find; more go through the unrolled star
    rounds (which then see no edges when the input is small, and vice versa).
    """

    def __init__(self, rounds: int, gather_limit: int = GATHER_LIMIT):
        super().__init__()
        self.rounds, self.gather_limit = rounds, gather_limit

    def expand(self, edges):
        count = beam.pvalue.AsSingleton(edges | "Count" >> beam.combiners.Count.Globally())
        limit = self.gather_limit
        gathered = (edges | "Small" >> beam.Filter(lambda _, n: n <= limit, count)
                    | "One" >> beam.Map(lambda e: (None, e)) | "Gather" >> beam.GroupByKey()
                    | "UnionFind" >> beam.FlatMap(_union_find))
        edges = edges | "Large" >> beam.Filter(lambda _, n: n > limit, count)
        for i in range(self.rounds):  # rounds >= 1 (the recipe checks)
            before = edges
            large = (edges | f"Undirected{i}" >> beam.FlatMap(_both_ways) | f"LargeGroup{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMap(_large_star))
            edges = large | f"SmallGroup{i}" >> beam.GroupByKey() | f"SmallStar{i}" >> beam.FlatMap(_small_star)
        changed = ({"before": before | "KeyBefore" >> beam.Map(lambda e: (e, None)),
                    "after": edges | "KeyAfter" >> beam.Map(lambda e: (e, None))}
                   | "CompareLast" >> beam.CoGroupByKey() | "Changed" >> beam.FlatMap(_changed)
                   | "CountChanged" >> beam.CombineGlobally(sum))
        # A root is paired with itself once per spoke: consumers read one (see _cluster_members).
        rounds = edges | "Assign" >> beam.FlatMap(_assign, beam.pvalue.AsSingleton(changed), self.rounds)
        return (gathered, rounds) | "Roots" >> beam.Flatten()


def _cluster_members(group):
    _, joined = group
    for root in set(joined["root"]):  # a node has one root, possibly listed once per edge
        for member in joined["member"]:
            yield root, member


def _resolve(group, rule: str):
    """A cluster -> verdicts (main) and the removed records (tagged)."""
    _, members = group
    verdicts, removed = resolve_cluster(members, rule)
    yield from verdicts
    for r in removed:
        yield beam.pvalue.TaggedOutput(REMOVED, r)


class NearDedup(beam.PTransform):
    """(documents, (node, Member) of the documents still in, their spilled (slice, FrameRef)s)
    -> (verdicts, removed near-duplicates).

    The documents only feed the sketches (fused with reading: they are never shuffled); the
    members, with the copies exact dedup folded into them, are what clusters are decided on;
    the frames give the candidates' texts back for the exact check.
    """

    def __init__(self, options: NearDedupOptions, slices: int, gather_limit: int = GATHER_LIMIT):
        super().__init__()
        self.options, self.slices, self.gather_limit = options, slices, gather_limit
        self.params = options.params

    def expand(self, inputs):
        docs, members, frames = inputs
        bands = docs | "Sketch" >> beam.FlatMap(_sketch, self.params)
        edges = ({"bands": bands, "member": members} | "JoinBands" >> beam.CoGroupByKey()
                 | "EligibleBands" >> beam.FlatMap(_eligible_bands)
                 | "Buckets" >> beam.GroupByKey()
                 | "Stars" >> beam.FlatMap(lambda bucket: star_edges(bucket[1])))
        # An edge found by several bands repeats: VerifyEdges and the star rounds read sets.
        if self.options.verify:
            hashes = edges | "CandidateHashes" >> CandidateHashes(frames, self.slices, self.params.ngram)
            edges = edges | "Verify" >> VerifyEdges(hashes, self.params.threshold)
        roots = edges | "Components" >> ConnectedComponents(self.options.rounds, self.gather_limit)
        decisions = ({"root": roots, "member": members} | "JoinMembers" >> beam.CoGroupByKey()
                     | "ClusterMembers" >> beam.FlatMap(_cluster_members)
                     | "Clusters" >> beam.GroupByKey()
                     | "Survivor" >> beam.FlatMap(_resolve, self.options.survivor)
                     .with_outputs(REMOVED, main="verdicts"))
        return decisions.verdicts, decisions[REMOVED]
