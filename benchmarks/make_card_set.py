"""Write tests/data/pii/cards.jsonl: support messages holding payment card numbers, and messages
holding numbers that are not cards (decoys), for tests/test_pii_cards.py and bench_pii.py.

Cards come from the issuers' IIN ranges and lengths as published (ISSUERS): every issuer at every
length it lists, each number with a valid Luhn check digit, written whole or in the groups payment
forms show. Most sit in messages that name the card ("lost my card", "cc", "my Maestro card"); one
per issuer and length sits in a message without a card word. Decoys are numbers of other documented
formats (IMEI, ISBN-13, epoch timestamps, international phone numbers, parcel tracking and order
numbers, commit hashes, cloud account and chat user ids), made Luhn-valid where the format leaves a
digit free, some next to a card word ("charged to my credit card"), and issuer-range numbers whose
check digit is wrong. Nothing here reads the detector: the set is built from the documents, and
seeded, so every run writes the same file.

    .venv/bin/python benchmarks/make_card_set.py
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "pii" / "cards.jsonl"
SEED = 16  # GitHub issue 16


class Issuer(NamedTuple):
    name: str  # as a customer writes it
    ranges: tuple[str, ...]  # IIN prefixes, "34" or "2221-2720" (both ends the same length)
    lengths: tuple[int, ...]


# The "IIN ranges" table of Wikipedia's "Payment card number" (2024 revision, as mirrored by the
# Cardizer generator), CyberSource's "Card Type Identification" page (Diners 3095, 38-39; Maestro
# 50, 56-69) and JCB's retired 15-digit 2131/1800 ranges. Left out: Diners Club enRoute (no check
# digit), Laser, Solo, Switch and Bankcard (withdrawn).
ISSUERS = (
    Issuer("Visa", ("4",), (13, 16, 19)),
    Issuer("Visa Electron", ("4026", "417500", "4508", "4844", "4913", "4917"), (16,)),
    Issuer("Mastercard", ("51-55", "2221-2720"), (16,)),
    Issuer("Amex", ("34", "37"), (15,)),
    Issuer("Discover", ("6011", "644-649", "65", "622126-622925"), (16, 17, 18, 19)),
    Issuer("Diners Club", ("300-305", "3095", "36", "38-39"), (14, 15, 16, 17, 18, 19)),
    Issuer("Diners Club", ("54", "55"), (16,)),
    Issuer("JCB", ("3528-3589",), (16, 17, 18, 19)),
    Issuer("JCB", ("2131", "1800"), (15,)),
    Issuer("UnionPay", ("62",), (16, 17, 18, 19)),
    Issuer("T-Union", ("31",), (19,)),
    Issuer("Maestro", ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"),
           (12, 13, 14, 15, 16, 17, 18, 19)),
    Issuer("Maestro", ("50", "56-69"), (12, 13, 14, 15, 16, 17, 18, 19)),
    Issuer("Maestro", ("6759", "676770", "676774"), (12, 13, 14, 15, 16, 17, 18, 19)),
    Issuer("Mir", ("2200-2204",), (16, 17, 18, 19)),
    Issuer("RuPay", ("60", "65", "81", "82", "508", "353", "356"), (16,)),
    Issuer("Verve", ("506099-506198", "650002-650027", "507865-507964"), (16, 18, 19)),
    Issuer("Troy", ("65", "9792"), (16,)),
    Issuer("Dankort", ("5019", "4571"), (16,)),
    Issuer("InterPayment", ("636",), (16, 17, 18, 19)),
    Issuer("InstaPayment", ("637-639",), (16,)),
    Issuer("UkrCard", ("60400100-60420099",), (16, 17, 18, 19)),
    Issuer("LankaPay", ("357111",), (16,)),
    Issuer("UzCard", ("8600",), (16,)),
    Issuer("Humo", ("9860",), (16,)),
    Issuer("BORICA", ("2205",), (16,)),
    Issuer("NPS Pridnestrovie", ("6054740-6054744",), (16,)),
    Issuer("UATP", ("1",), (15,)),
)

# Support messages about a card. {brand} is the issuer's name and "card", {number} the number.
WITH_CARD_WORD = (
    "Hi, I lost my card yesterday. The number is {number}, can you block it please?",
    "cc {number} exp 09/27 - I was charged twice for the same order",
    "My debit card {number} was declined at checkout even though I have funds.",
    "Please update the credit card on file to {number}.",
    "Card number: {number}\nName on card: same as the account",
    "I paid with my {brand} ({number}) but the order still says unpaid.",
    "Someone used my card without permission. Card {number}, please refund the last two charges.",
    "The new card arrived today, {number}. Do I need to activate it before use?",
    "{brand} {number} keeps getting rejected on your site, other shops take it fine.",
    "can u remove the card {number} from my account? i dont use it anymore",
    "{number} is the card I want to use for the renewal.",
    "Refund to the original card please: {number}. Thanks!",
)
WITHOUT_CARD_WORD = (
    "Please charge {number} for the annual plan.",
    "Here you go: {number} 09/27",
    "the number is {number}, let me know if it works",
    "Used {number} to pay, the money left my account but no confirmation came.",
)


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B: from the right, every second digit doubled (less 9 above 9)."""
    total = sum(int(d) if i % 2 == 0 else (2 * int(d) - 9 if int(d) > 4 else 2 * int(d))
                for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    """The body and the one digit that makes it Luhn-valid."""
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def prefix_in(rng: random.Random, ranges: tuple[str, ...]) -> str:
    low, _, high = rng.choice(ranges).partition("-")
    return str(rng.randint(int(low), int(high))).zfill(len(low)) if high else low


def random_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def card_number(rng: random.Random, issuer: Issuer, length: int) -> str:
    prefix = prefix_in(rng, issuer.ranges)
    return with_check_digit(prefix + random_digits(rng, length - len(prefix) - 1))


def grouped(digits: str, rng: random.Random) -> str:
    """Written as payment forms and cards show it: 4-6-5 (Amex) and 4-6-4 (Diners) for 15 and 14
    digits, else Braintree's gaps after digits 4, 8 and 12, or groups of four; spaces or dashes."""
    separator = rng.choice(" -")
    if len(digits) in (14, 15):
        cuts = [4, 10]
    elif rng.random() < 0.5:
        cuts = [4, 8, 12]
    else:
        cuts = list(range(4, len(digits), 4))
    return separator.join(digits[start:end] for start, end in zip([0, *cuts], [*cuts, len(digits)]) if start < end)


def whole(digits: str, rng: random.Random) -> str:
    return digits


def written(digits: str, rng: random.Random) -> str:
    """Whole or in groups, at even odds."""
    return grouped(digits, rng) if rng.random() < 0.5 else digits


def card_records(rng: random.Random) -> list[dict]:
    """Three messages with a card word per issuer and length (the number whole, in groups, either),
    and one without."""
    records = []
    for issuer in ISSUERS:
        for length in issuer.lengths:
            for template, write in ((rng.choice(WITH_CARD_WORD), whole), (rng.choice(WITH_CARD_WORD), grouped),
                                    (rng.choice(WITH_CARD_WORD), written), (rng.choice(WITHOUT_CARD_WORD), written)):
                number = write(card_number(rng, issuer, length), rng)
                text = template.format(number=number, brand=f"{issuer.name} card")
                records.append({"text": text, "pii": [{
                    "type": "CREDIT_CARD", "value": number, "issuer": issuer.name, "digits": length,
                    "card_word": template in WITH_CARD_WORD}], "decoys": []})
    return records


def imei(rng: random.Random) -> str:
    """3GPP TS 23.003: an 8-digit TAC (its first two digits a reporting body: 01 PTCRB, 35 BABT,
    86 TAF, 99 GHA), a 6-digit serial, and a Luhn check digit; written whole or AA-BBBBBB-CCCCCC-D."""
    number = with_check_digit(rng.choice(("01", "35", "86", "99")) + random_digits(rng, 12))
    return f"{number[:2]}-{number[2:8]}-{number[8:14]}-{number[14]}" if rng.random() < 0.3 else number


def isbn13(rng: random.Random) -> str:
    """ISO 2108: 978/979, its own check digit (weights 1, 3); kept only if Luhn-valid too."""
    while True:
        body = rng.choice(("978", "979")) + random_digits(rng, 9)
        check = -sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10
        if luhn_valid(number := body + str(check)):
            return number


def luhn_valid_from(make: Callable[[], str]) -> str:
    """The first value `make` gives whose digits pass the Luhn check."""
    while not luhn_valid(re.sub(r"\D", "", value := make())):
        pass
    return value


def epoch_time(rng: random.Random) -> str:
    """Unix time in milliseconds (13 digits) or microseconds (16), 2017 to 2030."""
    seconds = rng.randint(int(datetime(2017, 1, 1, tzinfo=UTC).timestamp()),
                          int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()))
    return luhn_valid_from(lambda: str(seconds * rng.choice((1000, 1_000_000)) + rng.randint(0, 999)))


def phone(rng: random.Random) -> str:
    """International numbers dialled with the 00 prefix (ITU-T E.164 after 00), as written in
    Europe: the UK's 020 7946 0xxx and 07700 900xxx drama ranges (Ofcom), Germany, India."""
    def make() -> str:
        return rng.choice((f"0044 20 7946 0{random_digits(rng, 3)}", f"0044 7700 900{random_digits(rng, 3)}",
                           f"0049 30 {random_digits(rng, 8)}", f"0091 98{random_digits(rng, 3)} {random_digits(rng, 5)}",
                           f"0044207946{random_digits(rng, 4)}"))
    return luhn_valid_from(make)


def tracking_number(rng: random.Random) -> str:
    """USPS IMpb (22 digits, starting 92-95, shown in groups of four) or FedEx Express (12 digits)."""
    def make() -> str:
        if rng.random() < 0.5:
            return random_digits(rng, 12)
        digits = rng.choice(("9400", "9205", "9361", "9505")) + random_digits(rng, 18)
        return " ".join(digits[i:i + 4] for i in range(0, 22, 4)) if rng.random() < 0.5 else digits
    return luhn_valid_from(make)


def order_number(rng: random.Random) -> str:
    """Amazon's 3-7-7 order ids, with their dashes or without."""
    value = luhn_valid_from(lambda: f"{rng.choice(('111', '112', '113', '114', '202', '302', '403'))}-"
                                    f"{random_digits(rng, 7)}-{random_digits(rng, 7)}")
    return value if rng.random() < 0.5 else value.replace("-", "")


def commit_hash(rng: random.Random) -> str:
    """A SHA-1 (40 hex digits) with a run of 12 or more digits that passes the Luhn check: hashes
    hold such runs, with letters on both sides."""
    while True:
        digest = hashlib.sha1(random_digits(rng, 20).encode()).hexdigest()
        runs = [run for run in re.findall(r"\d{12,}", digest) if luhn_valid(run)]
        if runs:
            return digest


def account_id(rng: random.Random) -> str:
    """An AWS account id (12 digits) or a Discord user id (a snowflake: milliseconds since 2015 shifted
    left 22 bits, 17 to 19 digits), Luhn-valid."""
    if rng.random() < 0.5:
        return luhn_valid_from(lambda: str(rng.randint(10 ** 11, 10 ** 12 - 1)))
    since_2015 = int((datetime(rng.randint(2016, 2024), rng.randint(1, 12), 1, tzinfo=UTC)
                      - datetime(2015, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    return luhn_valid_from(lambda: str((since_2015 + rng.randint(0, 10 ** 9)) << 22 | rng.getrandbits(22)))


def wrong_check_digit(rng: random.Random) -> str:
    """An issuer-range number whose last digit is not its Luhn check digit (a typo)."""
    issuer = rng.choice(ISSUERS)
    digits = card_number(rng, issuer, rng.choice(issuer.lengths))
    digits = digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)
    return written(digits, rng)


# Decoys: (kind, make a value, the messages it appears in, how many).
DECOYS: tuple[tuple[str, Callable[[random.Random], str], tuple[str, ...], int], ...] = (
    ("imei", imei, ("My phone's IMEI is {value}, it says no service since yesterday.",
                    "After I swapped the SIM card the IMEI {value} shows as blocked.",
                    "IMEI: {value}\nModel: the 128 GB one"), 30),
    ("isbn", isbn13, ("The book I ordered (ISBN {value}) arrived with a torn cover.",
                      "ISBN {value} is listed twice in my order history."), 20),
    ("timestamp", epoch_time, ("[ts={value}] payment.failed user=8841 retry=2",
                               "The app log says error at {value}, right after I pressed pay."), 20),
    ("phone", phone, ("Please call me back on {value} after 5pm.",
                      "I called the card services line on {value} but nobody answered."), 20),
    ("tracking", tracking_number, ("Tracking number {value} hasn't moved in a week.",
                                   "The parcel {value} shows delivered but I have nothing.",
                                   "My replacement card was sent with tracking number {value}, still nothing."), 20),
    ("order", order_number, ("Order {value} was charged but never shipped.",
                             "Where is my order #{value}? It's been 10 days.",
                             "Order {value} was charged to my credit card twice."), 20),
    ("commit", commit_hash, ("Reverted commit {value}, the card form works again.",
                             "Cherry-picked {value} from main; card payments pass again."), 15),
    ("account-id", account_id, ("Our AWS account {value} was billed twice this month.",
                                "AWS account {value}: I added a new card but it is still suspended.",
                                "arn:aws:iam::{value}:role/billing-admin",
                                "My user id is {value} if that helps."), 30),
    ("wrong-check-digit", wrong_check_digit, WITH_CARD_WORD, 40),
)


def decoy_records(rng: random.Random) -> list[dict]:
    records = []
    for kind, make, templates, count in DECOYS:
        for _ in range(count):
            value = make(rng)
            text = rng.choice(templates).format(value=value, number=value, brand="card")
            records.append({"text": text, "pii": [], "decoys": [{"type": kind, "value": value}]})
    return records


def main() -> None:
    rng = random.Random(SEED)
    records = card_records(rng) + decoy_records(rng)
    with OUT.open("w", encoding="utf-8") as out:
        for i, record in enumerate(records, 1):
            out.write(json.dumps({"id": f"cards/{i:04d}", **record}, ensure_ascii=False) + "\n")
    cards = sum(len(r["pii"]) for r in records)
    print(f"{OUT}: {cards} cards, {len(records) - cards} decoys")


if __name__ == "__main__":
    main()
