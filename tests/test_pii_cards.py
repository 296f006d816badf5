"""Payment card numbers (GitHub issue 16): the pii stage redacts the numbers of every issuer range
and length next to a card word, and leaves the numbers that only look like cards. The labelled set,
tests/data/pii/cards.jsonl, is written by benchmarks/make_card_set.py from the issuers' published
IIN tables (see tests/data/README.md); it runs here through the stage with its default preset."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from opencorpus.stages.pii import PiiRedactor
from opencorpus.stages.pii_recognizers import card_evidence

from conftest import pii_settings

CARDS = Path(__file__).parent / "data" / "pii" / "cards.jsonl"
RECALL_TARGET = 0.97
# A Luhn-valid number in a range that needs a card word (a 12-digit Maestro, say) cannot be told
# from a card once a card word stands next to it: "My replacement card was sent with tracking
# number 563631857015". Such decoys are in the set; at most this share of them may be taken.
DECOYS_TAKEN_BOUND = 0.01


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    r = PiiRedactor(pii_settings(settings="default"))
    r.setup()
    return r


@pytest.fixture(scope="module")
def outcomes(redactor) -> list[tuple[dict, str, dict[str, int]]]:
    """(record, redacted text, counts by type) for every message of the set."""
    records = [json.loads(line) for line in CARDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    redacted = redactor.redact_many([(record["text"], "text") for record in records])
    return [(record, text, counts) for record, (text, counts) in zip(records, redacted)]


def test_card_numbers_next_to_a_card_word_are_redacted(outcomes):
    cards = [(card, out) for record, out, _ in outcomes for card in record["pii"] if card["card_word"]]
    missed = Counter((card["issuer"], card["digits"]) for card, out in cards
                     if card["value"] in out or "<CREDIT_CARD>" not in out)
    assert 1 - sum(missed.values()) / len(cards) >= RECALL_TARGET, missed


def test_numbers_that_are_not_cards_stay(outcomes):
    decoys = [(record["decoys"][0]["type"], counts) for record, _, counts in outcomes if record["decoys"]]
    taken = Counter(kind for kind, counts in decoys if counts.get("CREDIT_CARD"))
    assert sum(taken.values()) <= DECOYS_TAKEN_BOUND * len(decoys), taken
    # Other types may take a decoy (a phone number is one), but not a card's placeholder.
    assert {kind for kind, _ in decoys} >= {"imei", "isbn", "timestamp", "order", "wrong-check-digit"}


@pytest.mark.parametrize(("digits", "evidence"), [
    # The networks' published test numbers: cards on their own.
    ("378282246310005", True),  # American Express, 15 digits
    ("30569309025904", True),  # Diners Club, 14
    ("3530111333300000", True),  # JCB, 16
    ("6200000000000005", True),  # UnionPay, 16
    ("2200000000000004", True),  # Mir, 16
    # Cards only next to a card word: a length the network rarely issues, or a range shared widely.
    ("4222222222222", None),  # Visa's old 13 digits
    ("6759649826438453", None),  # Maestro
    ("501800000009", None),  # Maestro, 12 digits
    ("180000000000002", None),  # JCB's retired 15 digits
    # Not cards: an IMEI (3GPP TS 23.003's example, Luhn-valid, 15 digits starting 49), a typo.
    ("490154203237518", False),
    ("4111111111111112", False),
])
def test_the_issuer_table_decides_what_a_number_needs(digits, evidence):
    assert card_evidence(digits) is evidence


@pytest.mark.parametrize(("text", "number"), [
    ("Card 4111 1111 1111 1111 09/27, please", "4111 1111 1111 1111"),  # an expiry date after it
    ("the card 3782-822463-10005 was stolen", "3782-822463-10005"),  # Amex, 4-6-5
    ("5018 0000 0009 is my Maestro card", "5018 0000 0009"),  # a card word after a number in groups
])
def test_card_numbers_as_written(redactor, text, number):
    out, counts = redactor.redact(text)
    assert number not in out and counts.get("CREDIT_CARD") == 1


@pytest.mark.parametrize("text", [
    "Tracking 9400 1000 0000 0000 0000 00 was delivered.",  # USPS, 22 digits in groups
    "Reverted 1ab4111111111111111c2 again.",  # digits inside a hash
    "Call 0044 20 7946 0958 about the card.",  # a phone number next to a card word
])
def test_card_like_digits_that_are_not_cards_stay(redactor, text):
    _, counts = redactor.redact(text)
    assert "CREDIT_CARD" not in counts
