"""PII benchmark: the opencorpus `pii` stage beside plain Presidio, same documents, same spaCy
model, same process, on the labelled sets of ../shared/corpora/pii (see its README).

Recall (per labelled type): the labelled value no longer appears in the output text.
Precision (PERSON, synthetic set): the share of <PERSON> placeholders that cover part of a labelled
name; "any PII" counts those that cover part of any labelled value (an address, an organisation).
Decoy survival (per decoy type): the decoy string is still in the output text.
Cards (tests/data/pii/cards.jsonl, written by make_card_set.py): recall is the share of card numbers
replaced by <CREDIT_CARD>, in messages with a card word and without; decoys taken for cards are the
messages with a decoy number (one number per message) that gain a <CREDIT_CARD>. `--cards-only`
prints these rows alone, without the corpora.
Speed: characters per second on one core (both run in this one process, one after the other),
with the preset, and with e-mail addresses and IP addresses alone (no NER): a recipe that wants
only what regexes and checksums find, where the stage does not call spaCy at all.
The baseline is Presidio as documented: `AnalyzerEngine.analyze` + `AnonymizerEngine.anonymize`
per document, default recognizers and entities (or those two), the model's full pipeline.

    python benchmarks/bench_pii.py --corpora ../shared/corpora
    python benchmarks/bench_pii.py --cards-only
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import zstandard

from opencorpus.document import Document
from opencorpus.recipe import resolve_stage_options
from opencorpus.stages.pii import PiiRedactor, PiiSettings

# Types the stage redacts; the synthetic set's other types (addresses, organisations, ...) are
# not PII on their own for this stage and are not scored.
SCORED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "PERSON")


CARDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "pii" / "cards.jsonl"
CARD_ROWS = ("recall CREDIT_CARD (cards, card word)", "recall CREDIT_CARD (cards, no card word)",
             "decoys taken for cards (cards)")
WARM_UP = 20  # documents per set, untimed, before the timed runs
PLACEHOLDER = re.compile(r"(<[A-Z_]+>)")
# The speed-only configuration: e-mails and IP addresses, no NER.
EMAIL_AND_IP = ["EMAIL_ADDRESS", "IP_ADDRESS"]


def load(path: Path) -> list[dict]:
    with path.open("rb") as f:
        data = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8")
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def documents(records: list[dict], kind: str) -> list[Document]:
    return [Document(id=r["id"], text=r["text"], source="bench", kind=kind) for r in records]


def settings(written: dict) -> PiiSettings:
    """The stage's settings as a recipe that writes `written` for `stages.pii` resolves them."""
    return PiiSettings.from_options(resolve_stage_options("pii", written))


def stage_runner(written: dict) -> Callable[[list[Document]], list[str]]:
    stage = PiiRedactor(settings(written))
    stage.setup()
    return lambda docs: [d.text for d in stage.process_batch(docs)]


def baseline_runner(model: str, entities: list[str] | None = None) -> Callable[[list[Document]], list[str]]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}],
    }).create_engine()
    analyzer, anonymizer = AnalyzerEngine(nlp_engine=nlp_engine), AnonymizerEngine()

    def run(docs: list[Document]) -> list[str]:
        return [anonymizer.anonymize(text=d.text, analyzer_results=analyzer.analyze(
                    text=d.text, language="en", entities=entities)).text for d in docs]
    return run


def recall(records: list[dict], outputs: list[str], how: str | None = None) -> dict[str, tuple[int, int]]:
    """type -> (redacted, labelled); `how` keeps only spans labelled that way (changelog sign-offs)."""
    scores = defaultdict(lambda: [0, 0])
    for record, out in zip(records, outputs):
        for span in record["pii"]:
            if span["type"] in SCORED and (how is None or span.get("how") == how):
                scores[span["type"]][1] += 1
                scores[span["type"]][0] += span["value"] not in out
    return {t: tuple(v) for t, v in scores.items()}


def placeholder_spans(text: str, out: str) -> list[tuple[str, int, int]]:
    """(type, start, end) in `text` of each placeholder in `out`, the redacted text: the text between
    placeholders is left as it was, so one match of it against `text` places them."""
    parts = PLACEHOLDER.split(out)
    match = re.fullmatch("".join(re.escape(p) if i % 2 == 0 else "(.+?)" for i, p in enumerate(parts)), text, re.DOTALL)
    if match is None:  # the text held a placeholder of its own
        return []
    return [(parts[2 * k + 1][1:-1], match.start(k + 1), match.end(k + 1)) for k in range(len(parts) // 2)]


def precision(records: list[dict], outputs: list[str], entity: str, of: tuple[str, ...]) -> tuple[int, int]:
    """(placeholders of `entity` covering part of a labelled value of a type in `of`, placeholders of `entity`)."""
    hits = total = 0
    for record, out in zip(records, outputs):
        for kind, start, end in placeholder_spans(record["text"], out):
            if kind == entity:
                total += 1
                hits += any(s["type"] in of and s["start"] < end and start < s["end"] for s in record["pii"])
    return hits, total


def survival(records: list[dict], outputs: list[str]) -> dict[str, tuple[int, int]]:
    scores = defaultdict(lambda: [0, 0])
    for record, out in zip(records, outputs):
        for decoy in record["decoys"]:
            scores[decoy["type"]][1] += 1
            scores[decoy["type"]][0] += decoy["value"] in out
    return {t: tuple(v) for t, v in scores.items()}


def card_rows(records: list[dict], outputs: list[str]) -> dict[str, tuple[int, int]]:
    """CARD_ROWS -> (hits, total) for the card set: card numbers replaced by <CREDIT_CARD> (with a
    card word nearby, without one), and decoy messages that gained a <CREDIT_CARD>."""
    with_word, without_word, decoys_taken = CARD_ROWS
    scores = {row: [0, 0] for row in CARD_ROWS}
    for record, out in zip(records, outputs):
        taken = "<CREDIT_CARD>" in out
        for card in record["pii"]:
            row = scores[with_word if card["card_word"] else without_word]
            row[0] += taken and card["value"] not in out
            row[1] += 1
        if record["decoys"]:
            scores[decoys_taken][0] += taken
            scores[decoys_taken][1] += 1
    return {row: (hits, total) for row, (hits, total) in scores.items()}


def timed(run: Callable[[list[Document]], list[str]], docs: list[Document]) -> tuple[list[str], float]:
    start = time.process_time()  # CPU time of this process: chars/s per core
    out = run(docs)
    return out, time.process_time() - start


def fraction(hit_total: tuple[int, int]) -> str:
    hit, total = hit_total
    return f"{hit / total:.3f} ({hit}/{total})" if total else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"),
                        help="the fixture root (its pii/ folder is read) or the pii folder itself")
    parser.add_argument("--settings", default="default", help="filters/pii/<NAME>.yaml")
    parser.add_argument("--cards-only", action="store_true", help="only the card set's rows (no corpora)")
    args = parser.parse_args()
    cards = load_jsonl(CARDS)
    model = settings({"settings": args.settings}).nlp_model
    if args.cards_only:
        runners = {"opencorpus": stage_runner({"settings": args.settings}), "presidio": baseline_runner(model)}
        print_rows(card_table(cards, runners), list(runners))
        return
    root = args.corpora / "pii" if (args.corpora / "pii").is_dir() else args.corpora
    changelog, synthetic, decoys = (load(root / f"{n}.jsonl.zst") for n in ("changelog", "synthetic", "decoys"))
    # Decoys are taken as prose, the harder case: NER runs over them.
    sets = {"changelog": documents(changelog, "text"), "synthetic": documents(synthetic, "text"),
            "decoys": documents(decoys, "text")}
    runners = {"opencorpus": stage_runner({"settings": args.settings}), "presidio": baseline_runner(model)}
    lean_runners = {"opencorpus": stage_runner({"settings": args.settings, "entities": EMAIL_AND_IP, "ner_kinds": []}),
                    "presidio": baseline_runner(model, EMAIL_AND_IP)}
    outputs, seconds, lean_seconds = defaultdict(dict), defaultdict(float), defaultdict(float)
    # One untimed pass over a few documents each: one-time lazy loading (spaCy vocabularies,
    # phonenumbers' region metadata, shared by both sides) must not be charged to whoever runs first.
    for run in [*runners.values(), *lean_runners.values()]:
        for docs in sets.values():
            run(docs[:WARM_UP])
    for name, run in runners.items():
        for set_name, docs in sets.items():
            outputs[name][set_name], spent = timed(run, docs)
            seconds[name] += spent
    for name, run in lean_runners.items():
        lean_seconds[name] = sum(timed(run, docs)[1] for docs in sets.values())
    chars = sum(len(d.text) for docs in sets.values() for d in docs)

    names = list(runners)
    print(f"model {model}; {sum(map(len, sets.values()))} documents, {chars} characters\n")
    rows = []
    for set_name, records in (("changelog", changelog), ("synthetic", synthetic)):
        scores = {n: recall(records, outputs[n][set_name]) for n in names}
        for entity in SCORED:
            if entity in scores[names[0]]:
                rows.append((f"recall {entity} ({set_name})", [fraction(scores[n][entity]) for n in names]))
        if set_name == "synthetic":
            labelled = tuple({s["type"] for r in records for s in r["pii"]})
            for label, of in (("", ("PERSON",)), (", any PII", labelled)):
                rows.append((f"precision PERSON (synthetic{label})",
                             [fraction(precision(records, outputs[n][set_name], "PERSON", of)) for n in names]))
        if set_name == "changelog":
            signoff = {n: recall(records, outputs[n][set_name], how="signoff") for n in names}
            rows.append(("recall PERSON (changelog sign-offs)", [fraction(signoff[n]["PERSON"]) for n in names]))
    decoy_scores = {n: survival(decoys, outputs[n]["decoys"]) for n in names}
    for decoy_type in sorted(decoy_scores[names[0]]):
        rows.append((f"decoy survival {decoy_type}", [fraction(decoy_scores[n][decoy_type]) for n in names]))
    totals = {n: tuple(map(sum, zip(*decoy_scores[n].values()))) for n in names}
    rows.append(("decoy survival, all", [fraction(totals[n]) for n in names]))
    rows.extend(card_table(cards, runners))  # untimed: not in the speed rows below
    rows.append(("CPU seconds", [f"{seconds[n]:.1f}" for n in names]))
    rows.append(("chars/s per core", [f"{chars / seconds[n]:,.0f}" for n in names]))
    rows.append(("chars/s per core, e-mail + IP only", [f"{chars / lean_seconds[n]:,.0f}" for n in names]))
    print_rows(rows, names)
    print(f"\nspeed-up: {seconds['presidio'] / seconds['opencorpus']:.2f}x the plain Presidio baseline "
          f"({lean_seconds['presidio'] / lean_seconds['opencorpus']:.2f}x with e-mail + IP only)")


def card_table(cards: list[dict], runners: dict[str, Callable[[list[Document]], list[str]]]) -> list[tuple[str, list[str]]]:
    """The card set's rows, each runner reading the messages as prose."""
    docs = documents(cards, "text")
    scores = {name: card_rows(cards, run(docs)) for name, run in runners.items()}
    return [(row, [fraction(scores[name][row]) for name in runners]) for row in CARD_ROWS]


def print_rows(rows: list[tuple[str, list[str]]], names: list[str]) -> None:
    print(f"| measure | {' | '.join(names)} |\n|---|{'---|' * len(names)}")
    for label, cells in rows:
        print(f"| {label} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
