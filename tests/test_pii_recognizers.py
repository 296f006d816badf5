"""The pii stage's own recognizers and batch path: secrets in code (from the formats' documented
example values), names that the layout marks, listed names and what tells them from words,
look-alikes that must stay, source kinds, and batching through Beam. Labelled samples:
tests/data/pii/."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from opencorpus.beam.stage import staged
from opencorpus.document import DeadLetter, Document
from opencorpus.stages.pii import PiiRedactor
from opencorpus.stages.pii_recognizers import ListedNameRecognizer, name_lists

from conftest import pii_settings

SAMPLES = Path(__file__).parent / "data" / "pii"


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    r = PiiRedactor(pii_settings(settings="default"))
    r.setup()
    return r


def labelled(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / name).read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", labelled("secrets.jsonl"), ids=lambda c: c["label"])
def test_secrets_in_code_become_typed_placeholders(redactor, case):
    out, counts = redactor.redact(case["text"], kind="code")
    assert case["value"] not in out
    assert counts.get(case["type"], 0) >= 1
    assert f"<{case['type']}>" in out


@pytest.mark.parametrize("case", labelled("names.jsonl"), ids=lambda c: c["label"])
def test_names_the_layout_marks_are_redacted_in_any_kind(redactor, case):
    # "code" without NER would still find them: the layout alone says where the name is.
    for kind in ("text", "code"):
        out, counts = redactor.redact(case["text"], kind=kind)
        assert case["value"] not in out, kind
        assert counts.get("PERSON", 0) >= 1


@pytest.mark.parametrize("case", labelled("decoys.jsonl"), ids=lambda c: c["label"])
def test_look_alikes_in_code_and_changelogs_stay(redactor, case):
    for kind in ("text", "code"):
        out, counts = redactor.redact(case["text"], kind=kind)
        assert out == case["text"], (kind, counts)


def test_organisations_in_copyright_lines_are_not_people(redactor):
    text = "Copyright (c) 2001-2023 Python Software Foundation. All rights reserved."
    assert redactor.redact(text, kind="code") == (text, {})


def test_public_addresses_go_and_private_ones_follow_the_preset(redactor):
    text = "The mirror at 8.8.4.4 and the router at 10.1.2.3 both answer."
    assert redactor.redact(text)[0] == "The mirror at <IP_ADDRESS> and the router at <IP_ADDRESS> both answer."
    keep_private = PiiRedactor(pii_settings(keep_ips=["private", "loopback"]))
    assert keep_private.redact(text)[0] == "The mirror at <IP_ADDRESS> and the router at 10.1.2.3 both answer."


def test_ner_runs_on_prose_but_not_on_minified_code(redactor):
    # A name that is also two English words: only NER finds it, not the first-name list.
    sentence = "Yesterday Grace Hopper reviewed the flight software."
    assert "<PERSON>" in redactor.redact(sentence, kind="text")[0]
    minified = sentence + ";" + "var a=1;" * 200  # one very long line
    assert redactor.redact(minified, kind="code")[0] == minified
    # The kinds that get NER come from the preset.
    no_ner = PiiRedactor(pii_settings(ner_kinds=[]))
    assert no_ner.redact(sentence, kind="text")[0] == sentence


def test_a_batch_gives_what_one_by_one_gives(redactor):
    docs = [Document(id=f"s/{i}", text=t, source="s", kind=k) for i, (t, k) in enumerate([
        ("Mail jane@example.org or call +1 415 555 2671.", "text"),
        ("", "text"),
        (" -- Grace Hopper <grace@example.org>  Mon, 01 Jan 2024 00:00:00 +0000", "text"),
        ("key = 'AKIAIOSFODNN7EXAMPLE'  # os.system(cmd)", "code"),
        # spaCy reads a window around the number for its context words
        ("Ada Lovelace paid with the card 6759 0000 0001 0009 today.", "text"),
    ])]
    one_by_one = [outcome for doc in docs for outcome in redactor.process(doc)]
    assert redactor.process_batch(docs) == one_by_one
    assert [d.metadata["pii"] for d in one_by_one] == [
        {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}, {}, {"EMAIL_ADDRESS": 1, "PERSON": 1}, {"ACCESS_KEY": 1},
        {"CREDIT_CARD": 1, "PERSON": 1}]


def test_a_bad_document_in_a_batch_is_the_only_dead_letter(redactor):
    good = Document(id="s/good", text="Write to ada@example.org.", source="s", location="s.jsonl:1")
    bad = Document(id="s/bad", text=b"\xff bytes, not text", source="s", location="s.jsonl:2")
    outcomes = redactor.process_batch([good, bad])
    assert outcomes[0].text == "Write to <EMAIL_ADDRESS>."
    assert outcomes[1] == DeadLetter(stage="pii", reason="error", detail="TypeError",
                                     location="s.jsonl:2", source="s", id="s/bad")


def test_batches_keep_every_document_and_the_bad_one_is_a_dead_letter():
    texts = {f"s/{i}": f"Ticket {i}: contact dev{i}@example.org" for i in range(30)}
    docs = [Document(id=i, text=t, source="s", location=f"s.jsonl:{n}") for n, (i, t) in enumerate(texts.items())]
    docs.insert(11, Document(id="s/bad", text=None, source="s", location="s.jsonl:99"))
    outcomes = list(staged([PiiRedactor(pii_settings())], docs, batch=8))
    assert sorted((d.id, d.text) for d in outcomes if isinstance(d, Document)) == sorted(
        (i, t.split("contact")[0] + "contact <EMAIL_ADDRESS>") for i, t in texts.items())
    assert [(d.id, d.detail) for d in outcomes if isinstance(d, DeadLetter)] == [("s/bad", "TypeError")]


@pytest.mark.parametrize(("options", "message"), [
    ({"keep_ips": ["public"]}, "pii.keep_ips"),
    ({"ner_kinds": "text"}, "pii.ner_kinds"),
    ({"minified_line_chars": 0}, "pii.minified_line_chars"),
    ({"formatted_phone_threshold": 2}, "pii.formatted_phone_threshold"),
])
def test_new_options_are_checked_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        pii_settings(**options)


def test_hostile_text_finishes_and_quotes_nothing(redactor, caplog):
    # Long runs that the patterns could backtrack on: capitals, digits, separators.
    hostile = ("Aaaa " * 20000) + ("1-" * 20000) + ("Copyright " * 5000) + ("-----BEGIN RSA PRIVATE KEY-----" + "A" * 30000)
    caplog.set_level(logging.DEBUG)
    out, counts = redactor.redact(hostile + "\nmail jane@example.org", kind="code")
    assert out.endswith("mail <EMAIL_ADDRESS>") and counts["EMAIL_ADDRESS"] == 1
    assert "jane@example.org" not in caplog.text


@pytest.mark.parametrize("text, number", [
    ("Leave it with the concierge, (212) 555-0143.", "(212) 555-0143"),
    ("New number from Monday: +44 20 7946 0958.", "+44 20 7946 0958"),
    ("Bookings go to 020 7946 0958 now.", "020 7946 0958"),
    ("Messages for the lab: 06-12345678-Office", "06-12345678"),
    # Escaped line breaks (JSON, code strings) still put "Phone" next to the number.
    ('{"card": "Phone:\\n555 0143"}', "555 0143"),
])
def test_phone_numbers_written_as_such_go_without_a_phone_word(redactor, text, number):
    out, counts = redactor.redact(text)
    assert number not in out and counts.get("PHONE_NUMBER") == 1


@pytest.mark.parametrize("text", [
    "The city has 3 400 000 inhabitants.",  # thousands
    "Ranges 555-0143 and 5401-512 are reserved.",  # two short groups, no phone word
    "Build 1700000000000 of 9.0.0829.",
    "Country code +999 123 4567 is not assigned, nor +0 12 3456 789.",  # and does not fail the document
])
def test_numbers_that_are_not_written_like_phone_numbers_stay(redactor, text):
    assert redactor.redact(text) == (text, {})


@pytest.fixture(scope="module")
def listed_names(redactor) -> ListedNameRecognizer:
    """The stage's recognizer of listed names, with the model's English words."""
    return next(r for r in redactor.engines.analyzer.registry.recognizers if isinstance(r, ListedNameRecognizer))


def listed_in(recognizer: ListedNameRecognizer, text: str) -> list[str]:
    return [text[r.start:r.end] for r in recognizer.analyze(text, ["PERSON"])]


@pytest.mark.parametrize("text, names", [
    ("Hi Keiran, the build is green.", ["Keiran"]),
    ("Søren, can I please speak to your boss?", ["Søren"]),
    ("Привет, Дмитрий!", ["Дмитрий"]),
    # An English word is a name with a cue: a speaker's line, also after an escaped break ("\\n").
    ("Vanessa: Who are you?\\nJohn: Nobody.", ["Vanessa", "John"]),
    ("She named him Gregory", ["Gregory"]),
    # ... or a surname that is no English word after it, a middle initial between.
    ("Regina Kowalski and Christian P. Nowak signed.", ["Regina Kowalski", "Christian P. Nowak"]),
    # A surname alone needs a title, a greeting, "by" or a word of speech.
    ("I'd like to join accounts with ms. Kowalski", ["Kowalski"]),
    ("Dear Nowak, a song by Kowalski.", ["Nowak", "Kowalski"]),
    ("As Kowalski said, it works.", ["Kowalski"]),
    # Whatever follows a name stated is one.
    ("Her maiden name is Minoesch", ["Minoesch"]),
])
def test_listed_names_are_found_with_what_tells_them_from_words(listed_names, text, names):
    assert listed_in(listed_names, text) == names


@pytest.mark.parametrize("text", [
    "Kowalski Street is closed; Nowak Mills are north.",  # surnames without a cue: places
    "Yesterday Grace Hopper reviewed the flight software.",  # two English words: left to NER
    "using Julia.Compiler; Travis:build; class Travis(CIProvider)",  # code
    "Julia:\n  - bump the version",  # a heading, not a speaker
    "Via the API, write Lua or Perl; written by Files and States.",  # words, languages, plurals
])
def test_listed_names_leave_words_code_and_places(listed_names, text):
    assert listed_in(listed_names, text) == []


def test_name_lists_are_package_data_with_international_names():
    lists = name_lists()
    assert {"søren", "józsef", "giuseppe", "oksana", "дмитрий", "νίκος"} <= lists.given
    assert {"kowalski", "nowak", "müller", "carlsen"} <= lists.surnames
    assert all(name == name.lower() and len(name) > 2 for name in lists.given | lists.surnames)
