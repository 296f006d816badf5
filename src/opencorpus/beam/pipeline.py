"""The curation graph: ingest -> extract -> license -> language -> quality -> exact dedup ->
near dedup -> PII -> documents -> tokenizer -> tokens + training order -> removed/ -> index -> stats.

Each step is a PTransform from this package; this module only wires them in DESIGN.md's
stage order and gathers the removed records, dead letters and facts they produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import apache_beam as beam

from opencorpus.beam.dedup import ExactDedup
from opencorpus.beam.near_dedup import NearDedup
from opencorpus.beam.index import WriteIndex
from opencorpus.beam.order import TrainingOrder
from opencorpus.beam.read import ReadSources
from opencorpus.beam.stage import ApplyStage
from opencorpus.beam.stats import WriteStats, input_digest
from opencorpus.beam.tokenizer import BuildTokenizer
from opencorpus.beam.write import LOCATED, TOKEN_PARTS, ShardCount, WriteDeadLetters, WriteDocumentParts, WriteRemovedParts
from opencorpus.recipe import Recipe
from opencorpus.sources import SourceFile
from opencorpus.stages.extract import HtmlExtractor
from opencorpus.stages.language import LanguageIdentifier
from opencorpus.stages.license import LicenseTagger
from opencorpus.stages.pii import PiiRedactor
from opencorpus.stages.quality import QualityFilter


# Sources whose documents arrive as HTML in `raw`, for the extract stage to fill.
WEB_FORMATS = ("warc", "html")


@dataclass
class Plan:
    """Everything the graph needs, resolved by the driver before the run."""

    recipe: Recipe
    files: list[SourceFile]
    version_url: str
    tokenizer_json: str | None  # a loaded tokenizer; None when it is trained (or off)


def _input_facts(record):
    yield ("counts", "input"), 1
    yield ("sources", record.source, "input"), 1


class CurateCorpus(beam.PTransform):
    """pipeline root -> nothing; writes every data file of the snapshot version."""

    def __init__(self, plan: Plan):
        super().__init__()
        self.plan = plan

    def expand(self, pbegin):
        recipe, version_url = self.plan.recipe, self.plan.version_url
        files, docs, dead = pbegin | "Ingest" >> ReadSources(recipe.sources, self.plan.files, recipe.date)
        inputs = files | "HashInputs" >> beam.Map(input_digest)
        removed, dead_letters = [], [dead]
        facts = [docs | "CountDocs" >> beam.FlatMap(_input_facts), dead | "CountBad" >> beam.FlatMap(_input_facts)]

        for label, transform in _document_stages(recipe):
            docs, r, *d = docs | label >> transform  # ExactDedup and NearDedup dead-letter nothing
            removed.append(r)
            dead_letters.extend(d)

        tokenizer = None
        if recipe.tokenizer is not None:
            tokenizer = docs | "Tokenizer" >> BuildTokenizer(recipe.tokenizer, self.plan.tokenizer_json, recipe.seed, version_url)
        shards = docs | "ShardCount" >> ShardCount(recipe.output)
        written = docs | "Documents" >> WriteDocumentParts(version_url, shards, tokenizer)
        facts.append(written.facts)
        if tokenizer is not None:
            order = TrainingOrder(version_url, recipe.tokenizer["order"], recipe.seed)
            facts.append(written[TOKEN_PARTS] | "TrainingOrder" >> order)
        removed = _flatten(removed, "Removed", pbegin)
        facts.append(removed | "WriteRemoved" >> WriteRemovedParts(version_url, shards))
        (written[LOCATED], removed) | "Index" >> WriteIndex(version_url)
        facts.append(_flatten(dead_letters, "DeadLetters", pbegin) | "WriteDeadLetters" >> WriteDeadLetters(version_url))
        facts | "Facts" >> beam.Flatten() | "Stats" >> WriteStats(version_url, tokenizer, inputs)


def _document_stages(recipe: Recipe) -> Iterator[tuple[str, beam.PTransform]]:
    """The per-document stages the recipe turns on, in DESIGN.md's order."""
    if any(s.format in WEB_FORMATS for s in recipe.sources):
        yield "Extract", ApplyStage(HtmlExtractor())
    if (options := recipe.stage("license")) is not None:
        yield "License", ApplyStage(LicenseTagger(options, {s.name: s.license for s in recipe.sources}))
    if (options := recipe.stage("language")) is not None:
        yield "Language", ApplyStage(LanguageIdentifier(options))
    if (options := recipe.stage("quality")) is not None:
        yield "Quality", ApplyStage(QualityFilter(options))
    if recipe.stage("dedup") is not None:
        yield "ExactDedup", ExactDedup()
    if (options := recipe.stage("near_dedup")) is not None:
        yield "NearDedup", NearDedup(options)
    if (options := recipe.stage("pii")) is not None:
        yield "PII", ApplyStage(PiiRedactor(options))


def _flatten(pcolls: list, label: str, pbegin):
    if not pcolls:
        return pbegin | f"No{label}" >> beam.Create([])
    return pcolls | label >> beam.Flatten()
