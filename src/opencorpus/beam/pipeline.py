"""The curation graph: ingest -> extract -> license -> language -> quality -> exact dedup ->
near dedup -> PII -> documents -> tokenizer -> tokens + training order -> removed/ -> index -> stats.

Each step is a PTransform from this package; this module only wires them in the contract's
stage order and gathers the removed records, dead letters and facts they produce.

Text crosses no shuffle. The stages before dedup run fused with reading; then the documents
are spilled to scratch frames by slice of the shard-key space (beam/spill.py), and only keys
go on: dedup decides on members and yields verdicts; each slice merges its frames back,
applies the verdicts and the stages after dedup (beam/slices.py), and each part concatenates
its slices' pieces (beam/write.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import apache_beam as beam

from opencorpus.beam.dedup import ExactDedup
from opencorpus.beam.index import WriteIndex
from opencorpus.beam.near_dedup import NearDedup
from opencorpus.beam.order import TrainingOrder
from opencorpus.beam.previous import CarryPrevious, DropTakenDown, TakenDown
from opencorpus.beam.read import ReadSources, SourceWork
from opencorpus.beam.slices import ProcessSlices
from opencorpus.beam.spill import SPILL_CHARS, SpillDocuments
from opencorpus.beam.stats import WriteDigests, WriteStats
from opencorpus.beam.tokenizer import SampleIds, TrainTokenizer
from opencorpus.beam.write import (
    DIGESTS,
    LOCATED,
    TOKEN_PARTS,
    ShardCount,
    WriteDeadLetters,
    WriteDocumentParts,
    WriteRemovedParts,
)
from opencorpus.cache.files import stage_options_for
from opencorpus.cache.redactions import RedactionPacks
from opencorpus.recipe import Recipe, RecipeError
from opencorpus.sources import SourceFile
from opencorpus.stages import Stage
from opencorpus.stages.dedup import Member, Node
from opencorpus.stages.extract import HtmlExtractor
from opencorpus.stages.language import LanguageIdentifier, LanguageOptions
from opencorpus.stages.license import LicenseOptions, LicenseTagger
from opencorpus.stages.near_dedup import NearDedupOptions
from opencorpus.stages.pii import PiiRedactor, PiiSettings
from opencorpus.stages.quality import QualityFilter, QualityOptions

# Sources whose documents arrive as HTML in `raw`, for the extract stage to fill.
WEB_FORMATS = ("warc", "html")


@dataclass
class Previous:
    """The published version an incremental run builds on (beam/previous.py), as the driver found it."""

    version: str
    digest: str  # sha256 of its manifest: recorded in the new one
    part_urls: list[str]  # its documents parts
    taken_down: TakenDown  # what it and later takedowns removed


@dataclass
class Plan:
    """Everything the graph needs, resolved by the driver before the run."""

    recipe: Recipe
    files: list[SourceFile]
    version_url: str
    tokenizer: dict[str, Any] | None  # a loaded tokenizer's facts, its file written by the driver; None when trained (or off)
    scratch_url: str  # where documents wait between reading and their part; removed after the run
    slices: int  # how many ranges of the shard-key space are processed apart (see beam/slices.py)
    spill_chars: int = SPILL_CHARS  # text a worker gathers before it writes a run file
    cache_url: str | None = None  # the run cache (opencorpus/cache/), or None for none
    previous: Previous | None = None  # the version an incremental run builds on


@dataclass(frozen=True)
class StageOptions:
    """The recipe's stage options typed, each stage's checked once by its module's `from_options`;
    None for a stage that is off. The recipe keeps the resolved mappings: the manifest records
    those, and cache keys hash them."""

    license: LicenseOptions | None
    language: LanguageOptions | None
    quality: QualityOptions | None
    near_dedup: NearDedupOptions | None
    pii: PiiSettings | None

    @classmethod
    def of(cls, recipe: Recipe) -> StageOptions:
        """A RecipeError names the recipe and the first option its stage refuses."""
        try:
            return cls(license=_typed(recipe.stage("license"), LicenseOptions.from_options),
                       language=_typed(recipe.stage("language"), LanguageOptions.from_options),
                       quality=_typed(recipe.stage("quality"), QualityOptions.from_options),
                       near_dedup=_typed(recipe.stage("near_dedup"), NearDedupOptions.from_options),
                       pii=_typed(recipe.stage("pii"), PiiSettings.from_options))
        except ValueError as e:  # from_options names the stage and the option
            raise RecipeError(f"{recipe.path}: stages.{e}") from None


_Options = TypeVar("_Options")


def _typed(options: dict[str, Any] | None, from_options: Callable[[dict[str, Any]], _Options]) -> _Options | None:
    return None if options is None else from_options(options)


def _member(doc) -> tuple[Node, Member]:
    member = Member.of(doc)
    return member.node, member


def _input_facts(record):
    yield ("counts", "input"), 1
    yield ("sources", record.source, "input"), 1


class CurateCorpus(beam.PTransform):
    """pipeline root -> nothing; writes every data file of the snapshot version."""

    def __init__(self, plan: Plan):
        super().__init__()
        self.plan = plan
        self.options = StageOptions.of(plan.recipe)  # a bad option stops the run before it starts

    def expand(self, pbegin):
        plan, options = self.plan, self.options
        recipe, version_url = plan.recipe, plan.version_url
        inputs, docs, removed_early, dead = pbegin | "Ingest" >> ReadSources(
            source_work(recipe, options), plan.files, recipe.date, options.pii, plan.cache_url)
        removed, dead_letters = [removed_early], [dead]
        if plan.previous is not None:
            kinds = {s.name: s.kind for s in recipe.sources}
            carried = pbegin | "Previous" >> CarryPrevious(plan.previous.version, plan.previous.part_urls, kinds)
            docs = (docs, carried) | "WithPrevious" >> beam.Flatten()
        # Each input record ends as exactly one of these: the count the manifest checks.
        facts = [docs | "CountDocs" >> beam.FlatMap(_input_facts),
                 removed_early | "CountRemoved" >> beam.FlatMap(_input_facts),
                 dead | "CountBad" >> beam.FlatMap(_input_facts)]
        if plan.previous is not None and plan.previous.taken_down:
            docs, r = docs | "TakenDown" >> DropTakenDown(plan.previous.taken_down)
            removed.append(r)

        shards = docs | "ShardCount" >> ShardCount(recipe.output)
        frames = docs | "Spill" >> SpillDocuments(plan.scratch_url, plan.slices, plan.spill_chars)
        verdicts, members = [], None
        trains = recipe.tokenizer is not None and plan.tokenizer is None
        if recipe.stage("dedup") is not None or recipe.stage("near_dedup") is not None or trains:
            members = docs | "Members" >> beam.Map(_member)
        if recipe.stage("dedup") is not None:
            members, v, r = members | "ExactDedup" >> ExactDedup()
            verdicts.append(v)
            removed.append(r)
        if options.near_dedup is not None:
            v, r = (docs, members, frames) | "NearDedup" >> NearDedup(options.near_dedup, plan.slices)
            verdicts.append(v)
            removed.append(r)
        verdicts = _flatten(verdicts, "Verdicts", pbegin)

        sample = None
        if trains:
            train = recipe.tokenizer["train"]
            sample = (members, verdicts) | "TokenizerSample" >> SampleIds(train["sample_size"], recipe.seed)
        packs = None
        if plan.cache_url is not None and (pii := recipe.stage("pii")) is not None:
            packs = RedactionPacks(plan.cache_url, pii)
        slices = ProcessSlices(list(_stages_after_dedup(options)), plan.slices, plan.scratch_url, shards, sample,
                               recipe.seed, packs)
        pieces, r, d, sample_frames = (frames, verdicts) | "Slices" >> slices
        removed.append(r)
        dead_letters.append(d)

        # Every writer reports the digest of each file it wrote, hashed on the way out: the
        # manifest takes them instead of reading the whole snapshot again on the driver.
        tokenizer, digests = None, []
        if plan.tokenizer is not None:
            tokenizer = pbegin | "Tokenizer" >> beam.Create([plan.tokenizer])
        elif trains:
            built = sample_frames | "Tokenizer" >> TrainTokenizer(recipe.tokenizer, recipe.seed, version_url)
            tokenizer = built.info
            digests.append(built[DIGESTS])
        written = pieces | "Documents" >> WriteDocumentParts(version_url, shards, tokenizer)
        facts.append(written.facts)
        digests.append(written[DIGESTS])
        if tokenizer is not None:
            order = TrainingOrder(version_url, recipe.tokenizer["order"], recipe.seed)
            ordered = written[TOKEN_PARTS] | "TrainingOrder" >> order
            facts.append(ordered.facts)
            digests.append(ordered[DIGESTS])
        removed = _flatten(removed, "Removed", pbegin)
        removed_parts = removed | "WriteRemoved" >> WriteRemovedParts(version_url, shards)
        facts.append(removed_parts.facts)
        digests.append(removed_parts[DIGESTS])
        digests.append((written[LOCATED], removed) | "Index" >> WriteIndex(version_url))
        letters = _flatten(dead_letters, "DeadLetters", pbegin) | "WriteDeadLetters" >> WriteDeadLetters(version_url)
        facts.append(letters.facts)
        digests.append(letters[DIGESTS])
        previous = None if plan.previous is None else {"version": plan.previous.version, "digest": plan.previous.digest}
        digests.append(facts | "Facts" >> beam.Flatten() | "Stats" >> WriteStats(version_url, tokenizer, inputs, previous))
        digests | "AllDigests" >> beam.Flatten() | "Digests" >> WriteDigests(plan.scratch_url)


def source_work(recipe: Recipe, options: StageOptions) -> dict[str, SourceWork]:
    """Per source, the stages before dedup its documents go through, in the contract's order, and
    the settings that shape their outcomes (the run cache's key; see cache/files.py)."""
    # Each stage with its resolved options as the recipe records them: what the cache key hashes.
    stages: list[tuple[Stage, dict[str, Any] | None]] = []
    if any(s.format in WEB_FORMATS for s in recipe.sources):
        stages.append((HtmlExtractor(), None))
    if options.license is not None:
        declared = {s.name: s.license for s in recipe.sources}
        stages.append((LicenseTagger(options.license, declared), recipe.stage("license")))
    if options.language is not None:
        stages.append((LanguageIdentifier(options.language), recipe.stage("language")))
    if options.quality is not None:
        stages.append((QualityFilter(options.quality), recipe.stage("quality")))
    work = {}
    for spec in recipe.sources:
        # Extraction fills documents that arrive as HTML: only web sources have them.
        own = [(stage, resolved) for stage, resolved in stages if stage.name != "extract" or spec.format in WEB_FORMATS]
        settings = stage_options_for(spec.name,
                                     [(stage.name, resolved) for stage, resolved in own] + [("pii", recipe.stage("pii"))])
        work[spec.name] = SourceWork(spec, [stage for stage, _ in own], settings)
    return work


def _stages_after_dedup(options: StageOptions) -> Iterator[Stage]:
    """The per-document stages after dedup, run inside each slice (beam/slices.py)."""
    if options.pii is not None:
        yield PiiRedactor(options.pii)


def _flatten(pcolls: list, label: str, pbegin):
    if not pcolls:
        return pbegin | f"No{label}" >> beam.Create([])
    return pcolls | label >> beam.Flatten()
