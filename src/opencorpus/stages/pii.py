"""PII redaction: Presidio finds e-mails, phone numbers, card numbers, ... and names, and each
one becomes a typed placeholder such as <EMAIL_ADDRESS>.

It is the last change to a document's text (docs/ARCHITECTURE.md "Contracts"). The engines are heavy, so they are
built once per process and shared by every redactor with the same model settings. Nothing here
logs, raises or dead-letters document text: a dead letter names the exception's class only.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import importlib.metadata
import ipaddress
import itertools
import json
import logging
import os
import re
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import regex

from opencorpus.document import DeadLetter, Document, canonical_hash
from opencorpus.heap import keep_long_lived

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from opencorpus.cache.redactions import RedactionMemo

# Presidio's e-mail check uses tldextract, which downloads the public suffix list unless told
# not to. tldextract reads these variables once, when it is first imported, so they are set
# here, before anything imports Presidio; setdefault leaves a user's own choice in place.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # empty: use the bundled snapshot
os.environ.setdefault("TLDEXTRACT_CACHE", os.path.join(tempfile.gettempdir(), "opencorpus-tldextract"))

STAGE = "pii"
# Cut points for long texts, best first: paragraph break, line break, space.
_CUTS = ("\n\n", "\n", " ")
# A name never contains these; spaCy's small model tags e.g. "Bug#55402" or "20:32:53" as PERSON.
_NOT_IN_A_NAME = re.compile(r"[\d#@:/\\_=<>{}\[\]()|*;$%&+~^`\"]")
# ...and "Fri" in a changelog's "Fri, 24 Apr 2015" line, or the first word of a licence header.
_NOT_NAMES = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Monday", "Tuesday", "Wednesday", "Thursday",
                        "Friday", "Saturday", "Sunday", "Licensed", "License", "Copyright", "Permission",
                        "Redistribution"})
# Escaped line breaks and tabs, as in JSON or code strings (see _unescape_breaks).
_ESCAPED_BREAK = re.compile(r"\\[nrt](?![a-z])")
# A capitalised word or a letter of a script without case: where a kept name can start.
_NAME_LINE = regex.compile(r"\p{Lu}\p{Ll}|\p{Lo}")
_UNESCAPED = {"\\n": "\n", "\\r": "\r", "\\t": "\t"}
# What follows a dotted number that is a version: more digits, a Debian or semver suffix.
_VERSION_TAIL = re.compile(r"\.\d|[+~]\w|-\d+(?!\.?\d)")

# A number written the way phone numbers are ("+41 53 147 37 99", "(894)134-3524").
_PHONE_PUNCTUATION = re.compile(r"^\+|\d[ ().-]+\d")
# Address kinds a preset may keep (`keep_ips`): the `is_<kind>` properties of Python's
# ipaddress, and the documentation ranges of RFC 5737 and RFC 3849. None of them is a person's.
IP_KINDS = ("unspecified", "loopback", "link_local", "multicast", "reserved", "documentation", "private")
_DOCUMENTATION_NETWORKS = tuple(map(ipaddress.ip_network, (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")))
_IPV6_RESERVED = ipaddress.ip_network("::/8")

# Characters either side of a value first tokenized for the context words around it.
_CONTEXT_MARGIN = 64
# A whitespace-separated chunk with a colon in it (see _colon_keywords).
_COLON_CHUNK = re.compile(r"(?<!\S)[^\s:]*:\S*")

# Recognizers whose every match holds a mark and no white space (Presidio's e-mail and IP
# patterns): they read only the runs of non-space text that hold one (_recognize). An e-mail
# address holds "@"; an IPv4 address (also mapped or embedded in IPv6) digit.digit; an IPv6
# address "::" or hex:hex. In code "." and ":" are in most words, these marks in few; the IP
# mark starts with the class [.:], which lets `re` skip ahead to the next dot or colon.
_MATCHES_HOLD = {"EmailRecognizer": re.compile("@"),
                 "IpRecognizer": re.compile(r"[.:](?:(?<=\d\.)(?=\d)|(?<=[0-9A-Fa-f]:)(?=[0-9A-Fa-f])|(?<=::)|(?<=:)(?=:))")}
_RUN_END = regex.compile(r"\S*")
_RUN_START = regex.compile(r"\S*", flags=regex.REVERSE)

_ENGINES: dict[tuple[str, str, tuple[str, ...]], Engines] = {}
_ENGINES_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class PiiSettings:
    """The stage's options, checked: the keys of filters/pii/*.yaml, every one given (recipe
    resolution inlines the preset; recipe.resolve_stage_options from a few options)."""

    nlp_model: str
    language: str
    entities: tuple[str, ...]
    score_threshold: float
    formatted_phone_threshold: float
    allow_list: tuple[str, ...]
    max_chars_per_chunk: int
    ner_kinds: tuple[str, ...]
    minified_line_chars: int
    keep_ips: tuple[str, ...]

    @property
    def engine_key(self) -> tuple[str, str, tuple[str, ...]]:
        """What the engines depend on; thresholds and lists are per call, so not part of it."""
        return (self.nlp_model, self.language, tuple(sorted(self.entities)))

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PiiSettings:
        """The resolved stage options checked; a ValueError names the first bad one. `settings`
        (the preset's name, which the manifest records) is not a setting."""
        given = {k: v for k, v in options.items() if k != "settings"}
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise ValueError(f"pii: unknown option(s) {', '.join(unknown)} (expected: {', '.join(fields)})")
        return cls(
            nlp_model=_checked(given, "nlp_model", _is_name, "a spaCy model name or folder"),
            language=_checked(given, "language", _is_name, "a language code such as 'en'"),
            entities=tuple(_checked(given, "entities", _is_names, "a non-empty list of Presidio entity types")),
            score_threshold=float(_checked(given, "score_threshold", _is_fraction, "a number from 0 to 1")),
            formatted_phone_threshold=float(_checked(given, "formatted_phone_threshold", _is_fraction,
                                                     "a number from 0 to 1")),
            allow_list=tuple(_checked(given, "allow_list", _is_strings, "a list of strings")),
            max_chars_per_chunk=_checked(given, "max_chars_per_chunk", _is_positive_int, "a positive integer"),
            ner_kinds=tuple(_checked(given, "ner_kinds", _is_strings, "a list of source kinds (text, code, web)")),
            minified_line_chars=_checked(given, "minified_line_chars", _is_positive_int, "a positive integer"),
            keep_ips=tuple(_checked(given, "keep_ips", lambda v: _is_strings(v) and set(v) <= set(IP_KINDS),
                                    f"a list of address kinds from {', '.join(IP_KINDS)}")),
        )


@dataclasses.dataclass(frozen=True)
class Engines:
    """What redaction needs, built once per process for one engine key."""

    analyzer: AnalyzerEngine
    nlp_engine: SpacyNlpEngine  # the analyzer's
    nlp: Language  # its model for the settings' language
    anonymizer: AnonymizerEngine
    operators: dict[str, OperatorConfig]
    conflict_resolution: ConflictResolutionStrategy


def _checked(options: dict[str, Any], key: str, valid: Callable[[Any], bool], expected: str) -> Any:
    if key not in options:
        raise ValueError(f"pii.{key}: missing (expected {expected})")
    if not valid(options[key]):
        raise ValueError(f"pii.{key}: expected {expected}, got {options[key]!r}")
    return options[key]


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_names(value: Any) -> bool:
    return _is_strings(value) and bool(value) and all(_is_name(v) for v in value)


def _is_fraction(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class PiiRedactor:
    """The `pii` stage: replaces each detected value by <ENTITY_TYPE> and counts them.

    `redact(text)` is public so that other stages can redact what they publish besides the
    text (e.g. license evidence) with the same engines.
    """

    name = STAGE
    exclusive = True  # Presidio's engines and spaCy's vocabulary are not thread-safe

    def __init__(self, settings: PiiSettings):
        self.settings = settings
        self.engines: Engines | None = None
        # Results by text from earlier runs (cache/redactions.py), set by whoever runs the stage:
        # a text found there is not analysed again, and what is analysed is added to it.
        self.memo: RedactionMemo | None = None

    def setup(self) -> None:
        """Get the process-wide engines for these settings (built on first use)."""
        self._engines()

    def _engines(self) -> Engines:
        """This redactor's engines, got and checked on first use."""
        if self.engines is None:
            engines = engines_for(self.settings)
            if self.settings.max_chars_per_chunk > engines.nlp.max_length:
                raise ValueError(f"pii.max_chars_per_chunk: at most the spaCy model's max_length "
                                 f"({engines.nlp.max_length}), got {self.settings.max_chars_per_chunk}")
            self.engines = engines
        return self.engines

    def process(self, doc: Document) -> Iterator[Document | DeadLetter]:
        """Yield the document redacted, with metadata pii (counts) and sha256_published."""
        yield from self.process_batch([doc])

    def process_batch(self, docs: Sequence[Document]) -> list[Document | DeadLetter]:
        """process() for many documents at once, outcomes in input order: NER reads the pieces of
        all of them in one batch, much faster than one call per piece."""
        try:
            return self._redact_documents(docs)
        except Exception as error:  # noqa: BLE001 - one bad document must not stop the run
            if len(docs) > 1:  # one bad document fails the whole batch: find it
                return [outcome for doc in docs for outcome in self.process_batch([doc])]
            # The exception's message may quote the text (a decode error shows the bad
            # character, a KeyError its key): only its class is reported.
            doc = docs[0]
            return [DeadLetter(stage=self.name, reason="error", detail=type(error).__name__,
                               location=doc.location, source=doc.source, id=doc.id)]

    def _redact_documents(self, docs: Sequence[Document]) -> list[Document | DeadLetter]:
        # License evidence quotes the raw text (copyright lines carry names and e-mails) and is
        # published too, so it is redacted the same way, in the same batch.
        texts = []
        for doc in docs:
            texts.append((doc.text, doc.kind))
            texts.extend((e["matched"], "text") for e in doc.metadata.get("license_evidence", []) if "matched" in e)
        redacted = iter(self.redact_many(texts))
        outcomes: list[Document | DeadLetter] = []
        for doc in docs:
            text, counts = next(redacted)
            evidence = [{**e, "matched": next(redacted)[0]} if "matched" in e else e
                        for e in doc.metadata.get("license_evidence", [])]
            metadata = {**doc.metadata, "pii": counts, "sha256_published": canonical_hash(text)}
            if evidence:
                metadata["license_evidence"] = evidence
            outcomes.append(dataclasses.replace(doc, text=text, metadata=metadata))
        return outcomes

    def redact(self, text: str, kind: str = "text") -> tuple[str, dict[str, int]]:
        """The text with each detected value replaced by <TYPE>, and the counts by type (sorted)."""
        return self.redact_many([(text, kind)])[0]

    def redact_many(self, texts: Sequence[tuple[str, str]]) -> list[tuple[str, dict[str, int]]]:
        """redact() for many (text, source kind) pairs, with one spaCy batch over all their pieces."""
        for text, _ in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
        memo = self.memo
        if memo is None:
            return self._redact_many(texts)
        keys = [memo.key(text, kind) for text, kind in texts]
        results = [memo.get(key, text) for key, (text, _) in zip(keys, texts)]
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:
            for i, result in zip(missing, self._redact_many([texts[i] for i in missing])):
                memo.put(keys[i], texts[i][0], result)
                results[i] = result
        return results  # type: ignore[return-value]  # every None was filled

    def _redact_many(self, texts: Sequence[tuple[str, str]]) -> list[tuple[str, dict[str, int]]]:
        self.setup()
        owners, pieces, ner = [], [], []
        for index, (text, kind) in enumerate(texts):
            for start, end in chunk_spans(text, self.settings.max_chars_per_chunk):
                owners.append(index)
                pieces.append(text[start:end])
                ner.append(self._wants_ner(kind, pieces[-1]))
        out: list[tuple[list[str], Counter[str]]] = [([], Counter()) for _ in texts]
        for owner, piece, found in zip(owners, pieces, self._analyze(pieces, ner)):
            text, counts = self._redact_chunk(piece, found)
            out[owner][0].append(text)
            out[owner][1].update(counts)
        return [("".join(parts), dict(sorted(counts.items()))) for parts, counts in out]

    def _wants_ner(self, kind: str, piece: str) -> bool:
        """NER pays on prose and code comments; minified code (bundles, data) only costs time."""
        if kind not in self.settings.ner_kinds:
            return False
        return kind != "code" or len(piece) <= self.settings.minified_line_chars * (piece.count("\n") + 1)

    def _analyze(self, pieces: list[str], ner: list[bool]) -> list[list[RecognizerResult]]:
        """What AnalyzerEngine.analyze finds in each piece, with spaCy only where it can change that.

        The recognizers that read the text alone (patterns, checksums, ours) run first. spaCy then
        tokenizes only the lines where NER may find a kept name (see _name_lines) and a window
        around each value whose score a context word could change (see _context_may_matter): with
        neither, e.g. for e-mails and IP addresses alone, it is not called at all. The results are
        those of analyze() over the whole piece's tokens: the windows are cut where spaCy's
        tokenizer cuts anyway, and widened until they hold every word Presidio reads.
        """
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        s, engines = self.settings, self._engines()
        recognizers = engines.analyzer.registry.get_recognizers(language=s.language, entities=list(s.entities))
        # Presidio's NER recognizer is the only one that reads the NLP artifacts (their entities).
        # Every other one reads the text alone and takes no artifacts: PatternRecognizer and ours
        # declare them optional, EntityRecognizer.analyze's signature does not.
        by_ner = [r for r in recognizers if isinstance(r, SpacyRecognizer)]
        by_text: list[Any] = [r for r in recognizers if not isinstance(r, SpacyRecognizer)]
        found = [[result for r in by_text for result in _recognize(r, piece, list(s.entities))] for piece in pieces]
        spacy_texts = [_unescape_breaks(piece) for piece in pieces]
        # spaCy keeps every string it ever saw in its vocabulary: over a corpus that grows without
        # bound. What this batch adds is freed when the zone ends (no Doc outlives it).
        with engines.nlp.memory_zone():
            if by_ner and engines.nlp.pipeline:
                for results, names in zip(found, self._ner_results(spacy_texts, ner, by_ner)):
                    results.extend(names)
            by_id = {r.id: r for r in recognizers}
            plain, needy = [], []
            for piece, results in zip(pieces, found):
                matters = self._context_may_matter(piece, results, by_id)
                plain.append([r for r, m in zip(results, matters) if not m])
                needy.append([r for r, m in zip(results, matters) if m])
            boosted = self._with_context(pieces, spacy_texts, needy, recognizers)
        return [p + b for p, b in zip(plain, boosted)]

    def _ner_results(self, texts: list[str], ner: list[bool], recognizers: list[Any]) -> list[list[RecognizerResult]]:
        """The NER recognizers' results for each piece (spaCy's text, see _unescape_breaks), NER
        having read, in one batch, the lines of the wanted pieces where a name could be."""
        from spacy.tokens import Span

        nlp = self._engines().nlp
        windows = [(i, start, end, lines) for i, text in enumerate(texts) if ner[i]
                   for start, end, lines in _name_windows(text)]
        docs = [nlp.make_doc(texts[i][start:end]) for i, start, end, _ in windows]
        runs = [(w, run) for w, ((_, start, _, lines), doc) in enumerate(zip(windows, docs))
                for run in _name_runs(doc, lines, start)]
        entities: dict[int, list[Span]] = {}
        subdocs = (docs[w][start:end].as_doc() for w, (start, end) in runs)
        for (w, (offset, _)), sub in zip(runs, _run_pipeline(nlp, subdocs)):
            entities.setdefault(w, []).extend(
                Span(docs[w], e.start + offset, e.end + offset, label=e.label) for e in sub.ents)
        found: list[list[RecognizerResult]] = [[] for _ in texts]
        for w, spans in entities.items():
            i, start, end, _ = windows[w]
            found[i].extend(self._entity_results(docs[w], spans, texts[i][start:end], start, recognizers))
        return found

    def _entity_results(self, doc: Doc, spans: list[Span], text: str, offset: int,
                        recognizers: list[Any]) -> list[RecognizerResult]:
        """The NER recognizers' results for the entities of a window's doc (of `text`, at `offset`
        in its piece), names tightened first (see _tighten_names)."""
        from presidio_analyzer.nlp_engine import NlpArtifacts

        nlp_engine = self._engines().nlp_engine
        doc.ents = spans
        entities, scores = nlp_engine._get_updated_entities(nlp_engine._get_entities(doc),
                                                            nlp_engine._get_scores_for_entities(doc))
        entities, scores = _tighten_names(entities, scores, text)
        # SpacyRecognizer reads the entities and their scores only: no lemmas needed.
        artifacts = NlpArtifacts(entities=entities, tokens=doc, tokens_indices=[], lemmas=[], nlp_engine=nlp_engine,
                                 language=self.settings.language, scores=scores)
        results = [result for r in recognizers for result in r.analyze(text, list(self.settings.entities), artifacts)]
        for result in results:
            result.start, result.end = result.start + offset, result.end + offset
        return results

    def _context_may_matter(self, text: str, results: list[RecognizerResult],
                            recognizers: dict[str, Any]) -> list[bool]:
        """For each result, whether Presidio's context words could change what becomes of it.

        Only if its recognizer has context words and the boost would change its score, and then
        only if the boost could lift it over its threshold, or if it overlaps another result
        (Presidio and the anonymizer settle overlaps by score). A boosted score that still misses
        every threshold of its type changes nothing: whatever it outranks is of that type and
        scores lower still.
        """
        from presidio_analyzer import ContextAwareEnhancer, RecognizerResult

        s, enhancer = self.settings, self._engines().analyzer.context_aware_enhancer
        matters = []
        for result, overlaps in zip(results, _overlapping(results)):
            metadata = result.recognition_metadata or {}
            recognizer = recognizers.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, ""))
            boosted = min(max(result.score + enhancer.context_similarity_factor,
                              enhancer.min_score_with_context_similarity), ContextAwareEnhancer.MAX_SCORE)
            matters.append(bool(recognizer and recognizer.context)
                           and not metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY)
                           and result.score < boosted and boosted >= _lowest_threshold(result.entity_type, s)
                           and (result.score < _threshold(text, result, s) or overlaps))
        return matters

    def _with_context(self, pieces: list[str], texts: list[str], needy: list[list[RecognizerResult]],
                      recognizers: list[Any]) -> list[list[RecognizerResult]]:
        """The needy results of each piece after Presidio's context enhancement, read from the spaCy
        tokens of a window around each value (`texts`: the pieces as spaCy reads them).

        A window starts _CONTEXT_MARGIN characters either side and grows fourfold until it holds
        all the words Presidio's enhancer counts (see _holds_context), or the whole piece.
        """
        engines = self._engines()
        analyzer = engines.analyzer
        colon_keywords = {i: self._colon_keywords(texts[i]) for i, results in enumerate(needy) if results}
        boosted: list[list[RecognizerResult]] = [[] for _ in pieces]
        pending, margin = [(i, result) for i, results in enumerate(needy) for result in results], _CONTEXT_MARGIN
        while pending:
            windows = [_window(texts[i], r.start - margin, r.end + margin) for i, r in pending]
            docs = [engines.nlp.make_doc(texts[i][start:end]) for (i, _), (start, end) in zip(pending, windows)]
            retry = []
            for (i, result), (start, end), doc in zip(pending, windows, docs):
                artifacts = self._context_artifacts(doc, start, colon_keywords[i])
                if _holds_context(artifacts, result.start, analyzer.context_aware_enhancer,
                                  start == 0, end == len(texts[i])):
                    boosted[i].extend(analyzer._enhance_using_context(pieces[i], [result], artifacts, recognizers))
                else:
                    retry.append((i, result))
            pending, margin = retry, margin * 4
        return boosted

    def _context_artifacts(self, doc: Doc, offset: int, colon_keywords: list[str]) -> NlpArtifacts:
        """Presidio's NlpArtifacts for a window's doc at `offset` in its piece, as its context
        enhancer reads them: offsets in the piece, the lowercased words as lemmas (see
        _slim_pipeline), read from arrays, no Python object per token. The keywords gain those of
        the piece's colon tokens (see _colon_keywords)."""
        from presidio_analyzer.nlp_engine import NlpArtifacts

        strings = doc.vocab.strings
        artifacts = NlpArtifacts(entities=[], tokens=doc,
                                 tokens_indices=[offset + i for i in doc.to_array("IDX").tolist()],
                                 lemmas=[strings[h] for h in doc.to_array("LOWER").tolist()],
                                 nlp_engine=self._engines().nlp_engine, language=self.settings.language)
        artifacts.keywords.extend(colon_keywords)
        return artifacts

    def _colon_keywords(self, text: str) -> list[str]:
        """Presidio's keywords from the tokens with a colon in a piece (spaCy's text).

        Presidio takes a word for a context word if it is among the keywords of the whole piece,
        and it splits a token with a colon there ("std::map", "10:30"), adding the parts: so a
        stop word may count next to a value because of a token far from it. Only the chunks with
        a colon are tokenized for these, not the piece.
        """
        from presidio_analyzer.nlp_engine import NlpArtifacts

        engines = self._engines()
        docs = (engines.nlp.make_doc(chunk) for chunk in _COLON_CHUNK.findall(text))
        lemmas = [token.lower_ for doc in docs for token in doc if ":" in token.text]
        return NlpArtifacts.set_keywords(engines.nlp_engine, lemmas, self.settings.language)

    def _redact_chunk(self, chunk: str, found: list[RecognizerResult]) -> tuple[str, Counter[str]]:
        from presidio_analyzer import EntityRecognizer
        from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

        s, engines = self.settings, self._engines()
        # The end of AnalyzerEngine.analyze: scores below every threshold out, then contained
        # duplicates, then the allow list (its "exact" mode).
        threshold = min(s.score_threshold, s.formatted_phone_threshold)
        kept = EntityRecognizer.remove_duplicates([r for r in found if r.score >= threshold])
        kept = [r for r in kept if chunk[r.start:r.end] not in s.allow_list]
        # Presidio settles a tie between overlapping results by their list position; sorting
        # makes that position, and so the output, independent of recognizer order.
        results = sorted(filter(None, (_refine(chunk, r, s) for r in kept)),
                         key=lambda r: (r.start, r.end, r.entity_type, r.score))
        if not results:
            return chunk, Counter()
        # The anonymizer has a result class of its own, with the fields it reads.
        out = engines.anonymizer.anonymize(
            text=chunk, analyzer_results=[AnonymizerResult(r.entity_type, r.start, r.end, r.score) for r in results],
            operators=engines.operators, conflict_resolution=engines.conflict_resolution)
        return out.text, Counter(item.entity_type for item in out.items)


def _recognize(recognizer: Any, text: str, entities: list[str]) -> list[RecognizerResult]:
    """recognizer.analyze(text) without artifacts. A recognizer in _MATCHES_HOLD reads only the
    runs of non-space text that hold one of its characters, joined by spaces, in one call (its
    patterns are most of the stage's time when they scan everything). Same results: no match
    crosses white space, and a run's ends look to boundaries and lookarounds as they did."""
    marks = _MATCHES_HOLD.get(type(recognizer).__name__)
    if marks is None:
        return recognizer.analyze(text, entities, None)
    runs = list(_runs_holding(text, marks))
    joined_starts = list(itertools.accumulate((end - start + 1 for start, end in runs[:-1]), initial=0))
    found = recognizer.analyze(" ".join(text[start:end] for start, end in runs), entities, None) if runs else []
    for result in found:
        i = bisect.bisect_right(joined_starts, result.start) - 1
        shift = runs[i][0] - joined_starts[i]
        result.start, result.end = result.start + shift, result.end + shift
    return found


def _runs_holding(text: str, marks: re.Pattern) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal run of non-space characters that holds a mark, in order."""
    found = marks.search(text)
    while found:
        at = found.start()
        run_end, run_start = _RUN_END.match(text, at), _RUN_START.match(text, 0, at)
        assert run_end is not None and run_start is not None  # \S* matches at least the empty string
        end = run_end.end()
        yield run_start.start(), end
        found = marks.search(text, end)


def chunk_spans(text: str, max_chars: int) -> list[tuple[int, int]]:
    """(start, end) pieces of at most max_chars that cover the text exactly, in order.

    Each piece ends after the last paragraph break within reach, else the last line break,
    else the last space; a text without any is cut at max_chars.
    """
    spans, start = [], 0
    while len(text) - start > max_chars:
        end = _cut(text, start, start + max_chars)
        spans.append((start, end))
        start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _cut(text: str, start: int, limit: int) -> int:
    for separator in _CUTS:
        at = text.rfind(separator, start, limit)
        if at > start:
            return at + len(separator)
    return limit


def _refine(text: str, result: RecognizerResult, settings: PiiSettings) -> RecognizerResult | None:
    """Drop detections below their threshold, known to misfire on code and changelogs, or kept
    on purpose (some IP addresses)."""
    if result.score < _threshold(text, result, settings):
        return None
    if result.entity_type == "IP_ADDRESS" and (_is_version_number(text, result.start, result.end)
                                               or _ip_kind(text[result.start:result.end]) in settings.keep_ips):
        return None
    return result


def _threshold(text: str, result: RecognizerResult, settings: PiiSettings) -> float:
    """The score a result needs to be redacted: a number written as a phone number has its own."""
    if result.entity_type == "PHONE_NUMBER" and _PHONE_PUNCTUATION.search(text[result.start:result.end]):
        return settings.formatted_phone_threshold
    return settings.score_threshold


def _lowest_threshold(entity_type: str, settings: PiiSettings) -> float:
    """The lowest score with which a result of the type can be redacted (see _threshold)."""
    if entity_type == "PHONE_NUMBER":
        return min(settings.score_threshold, settings.formatted_phone_threshold)
    return settings.score_threshold


def _overlapping(results: list[RecognizerResult]) -> list[bool]:
    """For each result, whether another one shares a character with it."""
    spans = sorted((r.start, r.end, i) for i, r in enumerate(results))
    flags = [False] * len(results)
    reach = -1  # the furthest end of the results that start before
    for k, (start, end, i) in enumerate(spans):
        next_start = spans[k + 1][0] if k + 1 < len(spans) else end
        flags[i] = start < reach or next_start < end
        reach = max(reach, end)
    return flags


def _ip_kind(value: str) -> str | None:
    """The first of IP_KINDS the address belongs to, or None (a public address)."""
    try:
        # "192.0.2.0/24" is matched with its prefix; in "fe80::1%eth0" the zone is no part of it.
        address = ipaddress.ip_interface(value.split("%")[0]).ip
    except ValueError:
        return None
    for kind in IP_KINDS:
        if kind == "documentation":
            if any(address in network for network in _DOCUMENTATION_NETWORKS):
                return kind
        elif kind == "reserved" and address.version == 6:
            # Python calls all IPv6 space outside the allocated blocks reserved, random-looking
            # addresses included; only ::/8 is meant here (it holds slices like x[1::3]).
            if address in _IPV6_RESERVED:
                return kind
        elif getattr(address, f"is_{kind}"):
            return kind
    return None


def _unescape_breaks(text: str) -> str:
    """The text with escaped line breaks and tabs ("Phone:\\nJane", JSON and code strings)
    turned into real ones, as spaCy needs them to split tokens and sentences there.

    Each two-character escape becomes two characters (a space and the break), so every offset
    in the spaCy doc is still an offset in the text Presidio's recognizers read. An escape
    followed by a lower-case letter is left alone: it is as likely TeX ("\\newline", "\\textbf").
    """
    return _ESCAPED_BREAK.sub(lambda m: " " + _UNESCAPED[m.group()], text) if "\\" in text else text


def _name_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of the lines where a name could be, and of their neighbours.

    _name_bounds keeps a PERSON span only if a word of it is capitalised or of a script without
    case, so NER over lines with neither (code, numbers, lower-case prose) finds nothing that
    is kept; skipping them saves a quarter to a half of NER's time on changelogs and code. The
    lines either side of a name line go too: NER reads the words around a name, and a name alone
    on a short line ("}} Helena Gregorová") is missed without them.
    """
    lines, start = [], 0
    for line in text.split("\n"):
        lines.append((start, start + len(line), bool(_NAME_LINE.search(line))))
        start += len(line) + 1
    return [(line_start, line_end) for i, (line_start, line_end, _) in enumerate(lines)
            if any(named for _, _, named in lines[max(0, i - 1):i + 2])]


def _name_windows(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """The text's name lines (see _name_lines) in windows (start, end, lines) for spaCy's tokenizer.

    Each line's window reaches one chunk beyond it either side (see _window), and windows that
    overlap are one: lines in different windows then have at least two tokens between them, so
    _name_runs never joins them, as it would not in the whole text's tokens either.
    """
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    for line in _name_lines(text):
        start, end = _window(text, *line)
        lines: list[tuple[int, int]] = []
        if windows and start < windows[-1][1]:
            start, _, lines = windows.pop()
        windows.append((start, end, [*lines, line]))
    return windows


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    """text[start:end] widened to the start of the chunk (run of non-space characters) before it
    and the end of the chunk after it.

    spaCy's tokenizer splits at whitespace first and reads each chunk on its own, so a window
    from the start of a chunk to the end of one has the whole text's tokens there. The chunk
    beyond each side keeps whole a whitespace token that crosses `start` or `end` ("\\n  "
    before an indented line).
    """
    start, end = max(0, start), min(len(text), end)
    while start > 0 and text[start - 1].isspace():
        start -= 1
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and text[end].isspace():
        end += 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def _name_runs(doc: Doc, lines: list[tuple[int, int]], offset: int = 0) -> list[tuple[int, int]]:
    """Token ranges (start, end) of the runs of the given lines (character offsets) in a doc of the
    text from `offset` on: lines with at most a newline token between them are one run."""
    runs: list[tuple[int, int]] = []
    for line_start, line_end in lines:
        span = doc.char_span(line_start - offset, line_end - offset, alignment_mode="expand")
        if span is None or not len(span):
            continue
        if runs and runs[-1][1] >= span.start - 1:  # the next line (a newline token between): one run
            runs[-1] = (runs[-1][0], span.end)
        else:
            runs.append((span.start, span.end))
    return runs


def _holds_context(artifacts: NlpArtifacts, start: int, enhancer: Any, at_first: bool, at_last: bool) -> bool:
    """Whether a window's artifacts hold every word that Presidio's LemmaContextAwareEnhancer
    reads around the value at `start`: from the value's token, context_prefix_count + 1 keywords
    back and context_suffix_count + 1 forward (_add_n_words), unless the window is at the
    piece's first or last character, where the whole piece's tokens end too."""
    index = next(i for i, (token, at) in enumerate(zip(artifacts.tokens, artifacts.tokens_indices))
                 if at == start or start < at + len(token))  # as _find_index_of_match_token
    keywords = set(artifacts.keywords)
    words = [lemma.lower() in keywords for lemma in artifacts.lemmas]
    return ((at_first or sum(words[:index + 1]) > enhancer.context_prefix_count)
            and (at_last or sum(words[index:]) > enhancer.context_suffix_count))


def _run_pipeline(nlp: Language, docs: Iterable[Doc]) -> Iterator[Doc]:
    """The enabled components of the pipeline (NER and what it listens to) over tokenized docs."""
    for _, component in nlp.pipeline:
        docs = component.pipe(docs) if hasattr(component, "pipe") else map(component, docs)
    return iter(docs)


def _tighten_names(entities: list[Span], scores: list[float], text: str) -> tuple[list[Span], list[float]]:
    """spaCy's entities (of a doc of `text`) and their scores, PERSON spans tightened or dropped,
    for Presidio to read.

    Done on the NER output, not on Presidio's results: there a rejected span such as
    "gregor herrmann <jane@x.org" would already have absorbed, as a duplicate, the exact name
    a pattern recognizer found inside it.
    """
    kept = []
    for span, score in zip(entities, scores):
        if span.label_ == "PERSON":
            # `text`, not span.doc.text, which spaCy rebuilds from the tokens at every call.
            bounds = _name_bounds(text, span.start_char, span.end_char)
            name = span.doc.char_span(*bounds, label="PERSON", alignment_mode="contract") if bounds else None
            if not name:
                continue
            span = name
        kept.append((span, score))
    return [s for s, _ in kept], [score for _, score in kept]


def _name_bounds(text: str, start: int, end: int) -> tuple[int, int] | None:
    # spaCy's spans may carry punctuation, e.g. "-- Jane Maintainer" in a Debian sign-off
    # line: the "--" is kept, so the line keeps its shape. A span running on past the name,
    # into "<e-mail>", "(nick)" or a literal "\n", is cut there; "Bug#55402" is no name at all.
    while start < end and not text[start].isalpha():
        start += 1
    cut = _NOT_IN_A_NAME.search(text, start, end)
    if cut and (cut.group() in "\\<(" or text[cut.start() - 1].isspace()):
        end = cut.start()
    while end > start and not text[end - 1].isalpha():
        end -= 1
    span = text[start:end]
    if _NOT_IN_A_NAME.search(span) or span in _NOT_NAMES or not any(map(_is_name_word, span.split())):
        return None
    return start, end


def _is_name_word(word: str) -> bool:
    """"Jane", "Dröge", "O'Brien", "Jean-Luc", or a word of a script without case; not "max",
    "bitContainer", "ARFLAGS" or "C", code that spaCy's small model tags as PERSON."""
    if not any(c.isupper() or c.islower() for c in word):
        return word.isalpha()
    return word[0].isupper() and any(c.islower() for c in word) and all(c.isalpha() or c in "'’-" for c in word)


def _is_version_number(text: str, start: int, end: int) -> bool:
    # "2.9.5.0" in "2.9.5.0.37-1", "2.10.0.18" in "2.10.0.18-2" or "1.2.3.4+dfsg1" is a version,
    # while "10.0.0.1" in the range "10.0.0.1-10.0.0.9" is an address.
    return bool(re.search(r"\d\.$", text[max(0, start - 2):start]) or _VERSION_TAIL.match(text, end))


def engines_for(settings: PiiSettings) -> Engines:
    """The process-wide engines for these settings, built on first use (seconds)."""
    with _ENGINES_LOCK:
        if settings.engine_key not in _ENGINES:
            _ENGINES[settings.engine_key] = _build_engines(settings)
            keep_long_lived()  # the engines live as long as the process
        return _ENGINES[settings.engine_key]


def _build_engines(settings: PiiSettings) -> Engines:
    with _torch_hidden_unless_needed(settings.nlp_model):  # spaCy and Presidio look for torch on import
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

    from opencorpus.stages.pii_recognizers import (
        ListedNameRecognizer,
        name_lists,
        name_recognizers,
        number_recognizers,
        secret_recognizers,
    )

    for logger in ("presidio-analyzer", "presidio-anonymizer"):
        logging.getLogger(logger).addFilter(_WITHHOLD_ARGUMENTS)
    # Presidio downloads a model it cannot find: offline that fails late, or hangs.
    if not (spacy.util.is_package(settings.nlp_model) or Path(settings.nlp_model).is_dir()):
        raise ValueError(f"pii.nlp_model: spaCy model {settings.nlp_model!r} is not installed "
                         f"(pip install it, or give the path of a model folder)")
    language = settings.language
    # What NlpEngineProvider builds for the "spacy" engine name, typed as such.
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": settings.nlp_model}])
    nlp_engine.load()
    nlp = nlp_engine.get_nlp(language)
    _slim_pipeline(nlp, needs_ner=_configure_ner(nlp_engine, settings))
    registry = RecognizerRegistry(supported_languages=[language])
    # Loading warns once per recognizer of every other language it skips: noise on every worker.
    analyzer_log = logging.getLogger("presidio-analyzer")
    level, analyzer_log.level = analyzer_log.level, logging.ERROR
    try:
        registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp_engine)
    finally:
        analyzer_log.setLevel(level)
    # number_recognizers has stricter ones: phone numbers by shape, card numbers by issuer range.
    registry.remove_recognizer("PhoneRecognizer")
    registry.remove_recognizer("CreditCardRecognizer")
    for recognizer in name_recognizers(language) + number_recognizers(language) + secret_recognizers(language):
        registry.add_recognizer(recognizer)
    if "PERSON" in settings.entities:
        registry.add_recognizer(ListedNameRecognizer(name_lists(), _english_words(nlp), supported_language=language))
    # Context words count as whole words ("lic" is not in "public"), before a value or just
    # after it ("650-752-7354 mobile").
    enhancer = LemmaContextAwareEnhancer(context_prefix_count=5, context_suffix_count=2,
                                         context_matching_mode="whole_word")
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[language],
                              context_aware_enhancer=enhancer)
    # Presidio skips stop words when it looks for context words, and spaCy lists "call" as one.
    for recognizer in registry.recognizers:
        for word in recognizer.context or ():
            nlp.vocab[word].is_stop = False
    known = analyzer.get_supported_entities(language)
    unknown = sorted(set(settings.entities) - set(known))
    if unknown:
        raise ValueError(f"pii.entities: unknown entity type(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return Engines(
        analyzer=analyzer,
        nlp_engine=nlp_engine,
        nlp=nlp,
        anonymizer=AnonymizerEngine(),
        operators={t: OperatorConfig("replace", {"new_value": f"<{t}>"}) for t in settings.entities},
        # Trims partly overlapping results of different types, so that no character is
        # replaced twice and no fragment of a value is left between two placeholders.
        conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
    )


@contextlib.contextmanager
def _torch_hidden_unless_needed(nlp_model: str) -> Iterator[None]:
    """While spaCy is first imported, torch looks not installed, unless the model runs on it.

    thinc (spaCy's ML library) and Presidio import torch whenever it is installed, only to look
    for a GPU: about 1 s and 200 MB more in every worker process, for a model that runs on the
    CPU without it. A transformer pipeline needs torch, and a process that imported torch
    already keeps it as it is.
    """
    if "torch" in sys.modules or _model_requires_torch(nlp_model):
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError
    try:
        yield
    finally:
        if sys.modules.get("torch", ...) is None:
            del sys.modules["torch"]


def _model_requires_torch(nlp_model: str) -> bool:
    """Whether the spaCy model's requirements (its package's, or its folder's meta.json) include
    a transformers integration, which runs on torch; True when they cannot be read."""
    try:
        requirements = importlib.metadata.requires(nlp_model) or []
    except importlib.metadata.PackageNotFoundError:
        try:
            requirements = json.loads((Path(nlp_model) / "meta.json").read_text()).get("requirements", [])
        except (OSError, ValueError):
            return True
    return any("transformers" in requirement for requirement in requirements)


def _configure_ner(nlp_engine: SpacyNlpEngine, settings: PiiSettings) -> bool:
    """Ignore the spaCy labels that map to no wanted entity; tell whether any label is left.

    Presidio would otherwise keep (and log a warning for) every label it cannot map, such as
    CARDINAL, on every call.
    """
    nlp = nlp_engine.get_nlp(settings.language)
    mapping = nlp_engine.ner_model_configuration.model_to_presidio_entity_mapping or {}
    wanted = {label for label, entity in mapping.items() if entity in settings.entities}
    if wanted and not nlp.has_pipe("ner"):
        raise ValueError(f"pii.nlp_model: {settings.nlp_model!r} has no 'ner' component, "
                         f"needed for {', '.join(sorted({mapping[label] for label in wanted}))}")
    labels = getattr(nlp.get_pipe("ner"), "labels", ()) if nlp.has_pipe("ner") else ()
    nlp_engine.ner_model_configuration.labels_to_ignore = sorted(set(labels) - wanted)
    return bool(wanted)


def _english_words(nlp: Language) -> frozenset[str]:
    """Lower-case English words, which the listed-name recognizer takes for a name ("Will",
    "Grace", "The") only with a cue such as a greeting: the model's stop words, _NOT_NAMES, and
    the WordNet index its lemmatizer ships (a model without one gives only the first two)."""
    words = {word.lower() for word in nlp.Defaults.stop_words | _NOT_NAMES}
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None) if "lemmatizer" in nlp.component_names else None
    if lookups is not None and lookups.has_table("lemma_index"):
        index = lookups.get_table("lemma_index")
        words.update(word.lower() for pos in index for word in index[pos])
    return frozenset(words)


def _slim_pipeline(nlp: Language, needs_ner: bool) -> None:
    """Run only what Presidio reads: the entities, if any wanted type needs NER.

    The lemmas only serve Presidio's context words ("phone", "card", "ssn"), which it matches
    as substrings of the lowercased lemmas: the lowercased word matches them as well (see
    _artifacts), and skipping the tagger, parser and lemmatizer saves about 40% of the time.
    NER keeps the embedding layer it listens to, if it shares one (transformer pipelines do).
    """
    keep = {"ner"} if needs_ner else set()
    keep |= {name for name in nlp.pipe_names
             if keep & set(getattr(nlp.get_pipe(name), "listening_components", ()))}
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in keep])


class _WithholdArguments(logging.Filter):
    """Keep Presidio's log templates, drop their arguments: some are matched values (an IBAN
    that fails validation is logged at ERROR) or the words around a match (DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = f"{record.msg} [arguments withheld]", ()
        return True


_WITHHOLD_ARGUMENTS = _WithholdArguments()
