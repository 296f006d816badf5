"""PII redaction: Presidio finds e-mails, phone numbers, card numbers, ... and names, and each
one becomes a typed placeholder such as <EMAIL_ADDRESS>.

It is the last change to a document's text (see DESIGN.md). The engines are heavy, so they are
built once per process and shared by every redactor with the same model settings. Nothing here
logs, raises or dead-letters document text: a dead letter names the exception's class only.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import re
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import regex
import yaml

from opencorpus.document import DeadLetter, Document, canonical_hash
from opencorpus.recipe import FILTERS_DIR

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult
    from presidio_analyzer.nlp_engine import NlpArtifacts
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig
    from spacy.language import Language
    from spacy.tokens import Doc

# Presidio's e-mail check uses tldextract, which downloads the public suffix list unless told
# not to. tldextract reads these variables once, when it is first imported, so they are set
# here, before anything imports Presidio; setdefault leaves a user's own choice in place.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # empty: use the bundled snapshot
os.environ.setdefault("TLDEXTRACT_CACHE", os.path.join(tempfile.gettempdir(), "opencorpus-tldextract"))

STAGE = "pii"
PRESET = FILTERS_DIR / "pii" / "default.yaml"
# Cut points for long texts, best first: paragraph break, line break, space.
_CUTS = ("\n\n", "\n", " ")
# A name never contains these; spaCy's small model tags e.g. "Bug#55402" or "20:32:53" as PERSON.
_NOT_IN_A_NAME = re.compile(r"[\d#@:/\\_=<>{}\[\]()|*;$%&+~^`\"]")
# ...and "Fri" in a changelog's "Fri, 24 Apr 2015" line, or the first word of a licence header.
_NOT_NAMES = frozenset("Mon Tue Wed Thu Fri Sat Sun Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
                       "Licensed License Copyright Permission Redistribution".split())
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

_ENGINES: dict[tuple[str, str, tuple[str, ...]], Engines] = {}
_ENGINES_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class PiiSettings:
    """The stage's options, checked: the keys of filters/pii/*.yaml."""

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


@dataclasses.dataclass(frozen=True)
class Engines:
    """What redaction needs, built once per process for one engine key."""

    analyzer: AnalyzerEngine
    anonymizer: AnonymizerEngine
    operators: dict[str, OperatorConfig]
    conflict_resolution: ConflictResolutionStrategy


def settings_from_options(options: dict[str, Any]) -> PiiSettings:
    """Check the stage options; keys not given take their value from filters/pii/default.yaml.

    `settings` (the preset's name) is accepted and ignored: recipe resolution has already
    inlined the preset's keys into the options.
    """
    merged = {**(yaml.safe_load(PRESET.read_text()) or {}), **options}
    merged.pop("settings", None)
    fields = [f.name for f in dataclasses.fields(PiiSettings)]
    unknown = sorted(set(merged) - set(fields))
    if unknown:
        raise ValueError(f"pii: unknown option(s) {', '.join(unknown)} (expected: {', '.join(fields)})")
    return PiiSettings(
        nlp_model=_checked(merged, "nlp_model", _is_name, "a spaCy model name or folder"),
        language=_checked(merged, "language", _is_name, "a language code such as 'en'"),
        entities=tuple(_checked(merged, "entities", _is_names, "a non-empty list of Presidio entity types")),
        score_threshold=float(_checked(merged, "score_threshold", _is_fraction, "a number from 0 to 1")),
        formatted_phone_threshold=float(_checked(merged, "formatted_phone_threshold", _is_fraction,
                                                 "a number from 0 to 1")),
        allow_list=tuple(_checked(merged, "allow_list", _is_strings, "a list of strings")),
        max_chars_per_chunk=_checked(merged, "max_chars_per_chunk", _is_positive_int, "a positive integer"),
        ner_kinds=tuple(_checked(merged, "ner_kinds", _is_strings, "a list of source kinds (text, code, web)")),
        minified_line_chars=_checked(merged, "minified_line_chars", _is_positive_int, "a positive integer"),
        keep_ips=tuple(_checked(merged, "keep_ips", lambda v: _is_strings(v) and set(v) <= set(IP_KINDS),
                                f"a list of address kinds from {', '.join(IP_KINDS)}")),
    )


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

    def __init__(self, options: dict[str, Any]):
        self.settings = settings_from_options(options)
        self.engines: Engines | None = None

    def setup(self) -> None:
        """Get the process-wide engines for these settings (built on first use)."""
        self.engines = engines_for(self.settings)
        max_length = self.engines.analyzer.nlp_engine.get_nlp(self.settings.language).max_length
        if self.settings.max_chars_per_chunk > max_length:
            raise ValueError(f"pii.max_chars_per_chunk: at most the spaCy model's max_length ({max_length}), "
                             f"got {self.settings.max_chars_per_chunk}")

    def process(self, doc: Document) -> Iterator[Document | DeadLetter]:
        """Yield the document redacted, with metadata pii (counts) and sha256_published."""
        yield from self.process_batch([doc])

    def process_batch(self, docs: Sequence[Document]) -> list[Document | DeadLetter]:
        """process() for many documents at once, outcomes in input order: spaCy reads the pieces
        of all of them in one `nlp.pipe` call, much faster than one call per piece."""
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

    def _redact_documents(self, docs: Sequence[Document]) -> list[Document]:
        # License evidence quotes the raw text (copyright lines carry names and e-mails) and is
        # published too, so it is redacted the same way, in the same batch.
        texts = []
        for doc in docs:
            texts.append((doc.text, doc.kind))
            texts.extend((e["matched"], "text") for e in doc.metadata.get("license_evidence", []) if "matched" in e)
        redacted = iter(self.redact_many(texts))
        outcomes = []
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
        """redact() for many (text, source kind) pairs, with one spaCy pass over all their pieces."""
        for text, _ in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
        if self.engines is None:
            self.setup()
        owners, pieces, ner = [], [], []
        for index, (text, kind) in enumerate(texts):
            for start, end in chunk_spans(text, self.settings.max_chars_per_chunk):
                owners.append(index)
                pieces.append(text[start:end])
                ner.append(self._wants_ner(kind, pieces[-1]))
        out: list[tuple[list[str], Counter[str]]] = [([], Counter()) for _ in texts]
        for owner, piece, artifacts in zip(owners, pieces, self._nlp_artifacts(pieces, ner)):
            text, found = self._redact_chunk(piece, artifacts)
            out[owner][0].append(text)
            out[owner][1].update(found)
        return [("".join(parts), dict(sorted(counts.items()))) for parts, counts in out]

    def _wants_ner(self, kind: str, piece: str) -> bool:
        """NER pays on prose and code comments; minified code (bundles, data) only costs time."""
        if kind not in self.settings.ner_kinds:
            return False
        return kind != "code" or len(piece) <= self.settings.minified_line_chars * (piece.count("\n") + 1)

    def _nlp_artifacts(self, pieces: list[str], ner: list[bool]) -> list[NlpArtifacts]:
        """Presidio's NlpArtifacts for each piece, in order: every piece tokenized (the tokens serve
        the context words), then NER in one batch over the lines of the wanted pieces where a name
        could be (see _name_runs), its entities set on the pieces' docs."""
        from spacy.tokens import Span

        nlp_engine = self.engines.analyzer.nlp_engine
        nlp = nlp_engine.get_nlp(self.settings.language)
        texts = [_unescape_breaks(piece) for piece in pieces]
        docs = list(nlp.tokenizer.pipe(texts))
        runs = [(i, run) for i, wanted in enumerate(ner) if wanted and nlp.pipeline
                for run in _name_runs(docs[i], texts[i])]
        entities: dict[int, list[Span]] = {}
        subdocs = (docs[i][start:end].as_doc() for i, (start, end) in runs)
        for (i, (offset, _)), sub in zip(runs, _run_pipeline(nlp, subdocs)):
            entities.setdefault(i, []).extend(
                Span(docs[i], e.start + offset, e.end + offset, label=e.label) for e in sub.ents)
        artifacts = []
        for i, doc in enumerate(docs):
            doc.ents = entities.get(i, [])
            artifacts.append(_artifacts(nlp_engine, doc, self.settings.language))
            _tighten_names(artifacts[-1], texts[i])
        return artifacts

    def _redact_chunk(self, chunk: str, artifacts: NlpArtifacts) -> tuple[str, Counter[str]]:
        s, engines = self.settings, self.engines
        found = engines.analyzer.analyze(
            text=chunk, language=s.language, entities=list(s.entities), nlp_artifacts=artifacts,
            score_threshold=min(s.score_threshold, s.formatted_phone_threshold), allow_list=list(s.allow_list),
        )
        # Presidio settles a tie between overlapping results by their list position; sorting
        # makes that position, and so the output, independent of recognizer order.
        results = sorted(filter(None, (_refine(chunk, r, s) for r in found)),
                         key=lambda r: (r.start, r.end, r.entity_type, r.score))
        if not results:
            return chunk, Counter()
        out = engines.anonymizer.anonymize(text=chunk, analyzer_results=results, operators=engines.operators,
                                           conflict_resolution=engines.conflict_resolution)
        return out.text, Counter(item.entity_type for item in out.items)


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
    value = text[result.start:result.end]
    threshold = settings.score_threshold
    if result.entity_type == "PHONE_NUMBER" and _PHONE_PUNCTUATION.search(value):
        threshold = settings.formatted_phone_threshold
    if result.score < threshold:
        return None
    if result.entity_type == "IP_ADDRESS" and (_is_version_number(text, result.start, result.end)
                                               or _ip_kind(value) in settings.keep_ips):
        return None
    return result


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


def _name_runs(doc: Doc, text: str) -> list[tuple[int, int]]:
    """Token ranges (start, end) of the doc's runs of lines where a name could be, and their neighbours.

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
    runs: list[tuple[int, int]] = []
    for i, (line_start, line_end, _) in enumerate(lines):
        if not any(named for _, _, named in lines[max(0, i - 1):i + 2]):
            continue
        span = doc.char_span(line_start, line_end, alignment_mode="expand")
        if span is None or not len(span):
            continue
        if runs and runs[-1][1] >= span.start - 1:  # the next line (a newline token between): one run
            runs[-1] = (runs[-1][0], span.end)
        else:
            runs.append((span.start, span.end))
    return runs


def _run_pipeline(nlp: Language, docs: Iterable[Doc]) -> Iterator[Doc]:
    """The enabled components of the pipeline (NER and what it listens to) over tokenized docs."""
    for _, component in nlp.pipeline:
        docs = component.pipe(docs) if hasattr(component, "pipe") else map(component, docs)
    return iter(docs)


def _tighten_names(artifacts: NlpArtifacts, text: str) -> None:
    """Tighten or drop spaCy's PERSON spans (of a doc of `text`) before Presidio reads them.

    Done on the NER output, not on Presidio's results: there a rejected span such as
    "gregor herrmann <jane@x.org" would already have absorbed, as a duplicate, the exact name
    a pattern recognizer found inside it.
    """
    kept = []
    for span, score in zip(artifacts.entities, artifacts.scores):
        if span.label_ == "PERSON":
            # `text`, not span.doc.text, which spaCy rebuilds from the tokens at every call.
            bounds = _name_bounds(text, span.start_char, span.end_char)
            span = bounds and span.doc.char_span(*bounds, label="PERSON", alignment_mode="contract")
            if not span:
                continue
        kept.append((span, score))
    artifacts.entities, artifacts.scores = [s for s, _ in kept], [score for _, score in kept]


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
        return _ENGINES[settings.engine_key]


def _build_engines(settings: PiiSettings) -> Engines:
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

    from opencorpus.stages.pii_recognizers import (FirstNameRecognizer, first_names, name_recognizers,
                                                   number_recognizers, secret_recognizers)

    for logger in ("presidio-analyzer", "presidio-anonymizer"):
        logging.getLogger(logger).addFilter(_WITHHOLD_ARGUMENTS)
    # Presidio downloads a model it cannot find: offline that fails late, or hangs.
    if not (spacy.util.is_package(settings.nlp_model) or Path(settings.nlp_model).is_dir()):
        raise ValueError(f"pii.nlp_model: spaCy model {settings.nlp_model!r} is not installed "
                         f"(pip install it, or give the path of a model folder)")
    language = settings.language
    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": language, "model_name": settings.nlp_model}],
    }).create_engine()
    _slim_pipeline(nlp_engine.get_nlp(language), needs_ner=_configure_ner(nlp_engine, settings))
    registry = RecognizerRegistry(supported_languages=[language])
    # Loading warns once per recognizer of every other language it skips: noise on every worker.
    analyzer_log = logging.getLogger("presidio-analyzer")
    level, analyzer_log.level = analyzer_log.level, logging.ERROR
    try:
        registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp_engine)
    finally:
        analyzer_log.setLevel(level)
    registry.remove_recognizer("PhoneRecognizer")  # number_recognizers has a stricter one
    for recognizer in name_recognizers(language) + number_recognizers(language) + secret_recognizers(language):
        registry.add_recognizer(recognizer)
    if "PERSON" in settings.entities:
        registry.add_recognizer(FirstNameRecognizer(first_names(), _english_words(nlp_engine.get_nlp(language)),
                                                    supported_language=language))
    # Context words count as whole words ("lic" is not in "public"), before a value or just
    # after it ("650-752-7354 mobile").
    enhancer = LemmaContextAwareEnhancer(context_prefix_count=5, context_suffix_count=2,
                                         context_matching_mode="whole_word")
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[language],
                              context_aware_enhancer=enhancer)
    # Presidio skips stop words when it looks for context words, and spaCy lists "call" as one.
    vocab = nlp_engine.get_nlp(language).vocab
    for recognizer in registry.recognizers:
        for word in recognizer.context or ():
            vocab[word].is_stop = False
    known = analyzer.get_supported_entities(language)
    unknown = sorted(set(settings.entities) - set(known))
    if unknown:
        raise ValueError(f"pii.entities: unknown entity type(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return Engines(
        analyzer=analyzer,
        anonymizer=AnonymizerEngine(),
        operators={t: OperatorConfig("replace", {"new_value": f"<{t}>"}) for t in settings.entities},
        # Trims partly overlapping results of different types, so that no character is
        # replaced twice and no fragment of a value is left between two placeholders.
        conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
    )


def _configure_ner(nlp_engine: Any, settings: PiiSettings) -> bool:
    """Ignore the spaCy labels that map to no wanted entity; tell whether any label is left.

    Presidio would otherwise keep (and log a warning for) every label it cannot map, such as
    CARDINAL, on every call.
    """
    nlp = nlp_engine.get_nlp(settings.language)
    mapping = nlp_engine.ner_model_configuration.model_to_presidio_entity_mapping
    wanted = {label for label, entity in mapping.items() if entity in settings.entities}
    if wanted and not nlp.has_pipe("ner"):
        raise ValueError(f"pii.nlp_model: {settings.nlp_model!r} has no 'ner' component, "
                         f"needed for {', '.join(sorted({mapping[label] for label in wanted}))}")
    labels = nlp.get_pipe("ner").labels if nlp.has_pipe("ner") else ()
    nlp_engine.ner_model_configuration.labels_to_ignore = sorted(set(labels) - wanted)
    return bool(wanted)


def _english_words(nlp: Language) -> frozenset[str]:
    """Lower-case English words, which the first-name recognizer takes for a name ("Will",
    "Grace", "The") only after a greeting: the model's stop words, _NOT_NAMES, and the WordNet
    index its lemmatizer ships (a model without one gives only the first two)."""
    words = {word.lower() for word in nlp.Defaults.stop_words | _NOT_NAMES}
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None) if "lemmatizer" in nlp.component_names else None
    if lookups is not None and lookups.has_table("lemma_index"):
        index = lookups.get_table("lemma_index")
        words.update(word.lower() for pos in index.keys() for word in index[pos])
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


def _artifacts(nlp_engine: Any, doc: Doc, language: str) -> NlpArtifacts:
    """Presidio's NlpArtifacts for a doc, as SpacyNlpEngine._doc_to_nlp_artifact makes them but
    with the lowercased words as lemmas, read from arrays: no Python object per token."""
    from presidio_analyzer.nlp_engine import NlpArtifacts

    strings = doc.vocab.strings
    entities, scores = nlp_engine._get_updated_entities(nlp_engine._get_entities(doc),
                                                        nlp_engine._get_scores_for_entities(doc))
    return NlpArtifacts(entities=entities, tokens=doc, tokens_indices=doc.to_array("IDX").tolist(),
                        lemmas=[strings[h] for h in doc.to_array("LOWER").tolist()], nlp_engine=nlp_engine,
                        language=language, scores=scores)


class _WithholdArguments(logging.Filter):
    """Keep Presidio's log templates, drop their arguments: some are matched values (an IBAN
    that fails validation is logged at ERROR) or the words around a match (DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = f"{record.msg} [arguments withheld]", ()
        return True


_WITHHOLD_ARGUMENTS = _WithholdArguments()
