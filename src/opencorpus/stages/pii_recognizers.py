"""Presidio recognizers of our own: names that the text itself marks as names, given names and
surnames from lists, phone numbers told apart from the numbers in code, card numbers, and
secrets in code.

spaCy's small model misses about a third of the names in changelogs and sign-offs, yet those
lines say outright where a name is: before an e-mail in angle brackets, after `Signed-off-by:`,
inside a Debian `[ Name ]` header, after `Copyright 2020`. Secrets have documented shapes
(PEM armour, AWS key ids, `Bearer` headers, `user:password@` in URLs).

Presidio compiles each pattern with the `regex` module (hence \\p{Lu}, and look-behinds of any
length); the two EntityRecognizers (phones, listed names) use `re` themselves. Every pattern is
linear: no nested quantifiers, every repeat bounded, so a long or hostile text cannot make one
hang; the stage also feeds them chunks of bounded length.
"""

from __future__ import annotations

import copy
import re
from functools import partial
from typing import NamedTuple

import phonenumbers
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# One word of a name: "Jane", "Dröge", "O'Brien", "Jean-Luc", "J." (an initial).
_WORD = r"\p{Lu}[\p{Ll}\p{M}'’-]*\p{Ll}[\p{L}\p{M}'’-]*|\p{Lu}\."
# Particles inside names: "Ludwig van Beethoven", "Maria de la Cruz".
_PARTICLE = r"(?:van|von|der|den|de|la|le|du|da|di|dos|del|bin|ibn|al)"
# Words that make a capitalised run an organisation or a thing, not a person.
_NOT_A_PERSON = (r"(?:Inc|Ltd|LLC|GmbH|Corp|Corporation|Company|Foundation|Project|Team|Group|Authors|"
                 r"Contributors|Developers|Software|Systems|University|Institute|Association|Consortium|"
                 r"Organization|Organisation|Community|Labs?|Technologies|Limited|Debian|Ubuntu|Linux|"
                 r"Google|Microsoft|Apple|Oracle|Red|Mozilla|Apache|Python|Free|Open|The|All|Rights)\b")
# What follows a company's name ("Meta Platforms, Inc.").
_COMPANY_SUFFIX = r"(?:Inc|Ltd|LLC|GmbH|Corp|Corporation|Company|AG|plc|PLC)\b"
# Two to four words; a word may not start an organisation's name, nor be followed by a company suffix.
_NAME = (rf"(?!{_NOT_A_PERSON})(?:{_WORD})"
         rf"(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}(?!{_NOT_A_PERSON})(?:{_WORD})){{1,3}}"
         rf"(?![\p{{L}}\p{{M}}'’-])(?!,?[ \t]+{_COMPANY_SUFFIX})")
_EMAIL_IN_BRACKETS = r"<[^<>@\s]{1,64}@[^<>\s]{1,255}>"


def name_recognizers(language: str) -> list[PatternRecognizer]:
    """PERSON where the text's own layout says a name stands."""
    headers = ("From|Author|Authors|Signed-off-by|Co-authored-by|Reviewed-by|Acked-by|Tested-by|"
               "Reported-by|Suggested-by|Reviewed-on-behalf-of|Maintainer|Maintainers|Uploaders|"
               "Committer|Contact|Written by|Contributed by")
    credits = ("[Tt]hanks(?:[ \t]+(?:to|go[ \t]+to))?|[Pp]atch(?:es)?[ \t]+(?:from|by)|[Rr]eported[ \t]+by|"
               "[Ss]uggested[ \t]+by|[Ww]ritten[ \t]+by|[Cc]ontributed[ \t]+by|[Pp]rovided[ \t]+by|"
               "[Ff]ixed[ \t]+by|[Oo]riginal(?:ly)?[ \t]+(?:work[ \t]+)?by|[Bb]ased[ \t]+on[ \t]+work[ \t]+by|"
               "[Cc]redits?[ \t]+to|[Mm]aintained[ \t]+by|[Cc]reated[ \t]+by")
    year = r"(?:\d{4}(?:[ \t]*[-–,][ \t]*\d{4}){0,20},?[ \t]+)"
    copyright_ = rf"(?:Copyright|COPYRIGHT|\(c\)|\(C\)|©)[ \t]*(?:\(c\)|\(C\)|©)?[ \t]*{year}?(?:by[ \t]+)?"
    specs = [
        # "Jane Maintainer <jane@example.org>": author lines, AUTHORS files, copyright lines.
        ("NameBeforeEmailRecognizer", rf"(?<![\p{{L}}\p{{M}}'’.-]){_NAME}(?=[ \t]+{_EMAIL_IN_BRACKETS})", 0.85),
        # A Debian changelog trailer names its maintainer in any form (Debian Policy 4.4):
        # " -- name <e-mail>  date"; lower case, one word or a nickname included.
        ("DebianTrailerRecognizer", rf"(?<=^ -- )[^<>\n]{{1,80}}?(?=[ \t]+{_EMAIL_IN_BRACKETS})", 0.85),
        # Changelog entries by several people: "  [ Jane Maintainer ]"; not a list "[ 1, 2 ]".
        ("ChangelogHeaderRecognizer", r"(?<=^[ \t]{1,8}\[ )(?=\p{L})[^\[\]\n\d{}=,;:\"]{2,80}?(?= \]$)", 0.85),
        ("HeaderNameRecognizer", rf"(?<=^[ \t#*/;%-]{{0,8}}(?:{headers}):?[ \t]+){_NAME}", 0.85),
        ("CreditNameRecognizer", rf"(?<=\b(?:{credits})[ \t]+){_NAME}", 0.85),
        ("CopyrightNameRecognizer", rf"(?<={copyright_}){_NAME}", 0.85),
    ]
    return [
        PatternRecognizer(supported_entity="PERSON", name=name, supported_language=language,
                          patterns=[Pattern(name, pattern, score)],
                          global_regex_flags=re.MULTILINE)  # not IGNORECASE: capitals matter
        for name, pattern, score in specs
    ]


def secret_recognizers(language: str) -> list[PatternRecognizer]:
    """Private keys, cloud access keys, bearer and API tokens, passwords in connection strings."""
    specs = {
        "PRIVATE_KEY": [
            # PEM armour (RFC 7468) and OpenSSH keys: the whole block, header to footer.
            ("pem private key", r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY( BLOCK)?-----[A-Za-z0-9+/=\s:,.-]{1,20000}?"
                                r"-----END[ A-Z0-9]{0,40}PRIVATE KEY( BLOCK)?-----", 1.0),
        ],
        "ACCESS_KEY": [
            # AWS access key ids (IAM user AKIA, temporary ASIA), 20 characters.
            ("aws access key id", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b", 0.9),
            # The 40-character AWS secret, which only its key name tells apart from other base64.
            ("aws secret access key", r"(?<=\baws_?secret_?access_?key[\"']?[ \t]*[:=][ \t]*[\"']?)"
                                      r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", 0.9),
            ("google api key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", 0.9),
        ],
        "API_TOKEN": [
            # GitHub (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), Slack (xox?-), GitLab (glpat-).
            ("github token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b", 0.9),
            ("slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,250}", 0.9),
            ("gitlab token", r"\bglpat-[A-Za-z0-9_-]{20,64}", 0.9),
            # "Authorization: Bearer <token>" (RFC 6750), JWTs included.
            # A word after "Bearer" is a token only with a digit in it: not "Bearer authentication".
            ("bearer token", r"(?<=\bBearer[ \t]+)(?=[A-Za-z\-._~+/]{0,4096}\d)[A-Za-z0-9\-._~+/]{8,4096}=*", 0.8),
            ("json web token", r"\beyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,4096}", 0.9),
            # api_key = "...", SECRET_TOKEN: '...': the value only, at least 16 characters.
            ("assigned api key", r"(?<=\b[A-Za-z_]{0,30}(?i:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|"
                                 r"secret[_-]?key|client[_-]?secret)[\"']?[ \t]*[:=][ \t]*[\"'])"
                                 r"[A-Za-z0-9_\-./+=]{16,512}(?=[\"'])", 0.8),
        ],
        "PASSWORD": [
            # scheme://user:password@host (RFC 3986 userinfo): the password only.
            ("url password", r"(?<=\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]{1,64}:)[^\s:/@]{1,128}(?=@)", 0.85),
            # Connection strings: "Password=...;" (ADO.NET, ODBC) or a quoted literal,
            # password: "..."; not `password = self.password`, a variable.
            ("connection string password", r"(?<=\b(?i:password|pwd|passwd)[ \t]*=[ \t]*)"
                                           r"[^\s;\"'=]{1,128}(?=;)", 0.8),
            ("quoted password", r"(?<=\b(?i:password|passwd)[\"']?[ \t]*[:=][ \t]*[\"'])"
                                r"[^\s\"']{4,128}(?=[\"'])", 0.8),
        ],
    }
    return [
        PatternRecognizer(supported_entity=entity, name=f"{entity.title().replace('_', '')}Recognizer",
                          supported_language=language,
                          patterns=[Pattern(label, pattern, score) for label, pattern, score in patterns],
                          global_regex_flags=re.MULTILINE)
        for entity, patterns in specs.items()
    ]


class CardRange(NamedTuple):
    network: str
    prefixes: tuple[str, ...]  # IIN prefixes: "34", or a range "2221-2720" (both ends the same length)
    lengths: tuple[int, ...]  # the lengths the network issues
    alone: tuple[int, ...]  # the lengths at which a number in range is taken for a card without a card word


# Issuer ranges as published: Wikipedia's "Payment card number" IIN table (2024), CyberSource's
# "Card Type Identification" (Diners 3095 and 38-39, Maestro 50 and 56-69) and JCB's retired
# 15-digit 2131 and 1800. Only networks whose numbers carry a Luhn check digit (not Diners enRoute);
# UnionPay's own numbers need not have one, so only its Luhn-valid ones are found.
# A number is a card on its own at the length its network almost always issues (16, Amex's 15,
# Diners' 14, T-Union's 19). Other lengths are rare among cards and common among ids, and some
# ranges say little: Maestro's cover most numbers starting 5 or 6 at every length from 12 to 19,
# UATP's and RuPay's 81-82 lie outside the banking industry digits (MII 3-6), JCB's 15-digit
# ranges are retired. Those need a card word nearby.
CARD_RANGES = (
    CardRange("Visa", ("4",), (13, 16, 19), (16,)),
    CardRange("Mastercard", ("51-55", "2221-2720"), (16,), (16,)),
    CardRange("American Express", ("34", "37"), (15,), (15,)),
    CardRange("Discover", ("6011", "644-649", "65", "622126-622925"), (16, 17, 18, 19), (16,)),
    CardRange("Diners Club", ("300-305", "3095", "36", "38-39"), (14, 15, 16, 17, 18, 19), (14, 16)),
    CardRange("JCB", ("3528-3589",), (16, 17, 18, 19), (16,)),
    CardRange("JCB, 15 digits", ("2131", "1800"), (15,), ()),
    CardRange("UnionPay", ("62",), (16, 17, 18, 19), (16,)),
    CardRange("China T-Union", ("31",), (19,), (19,)),
    CardRange("Mir", ("2200-2204",), (16, 17, 18, 19), (16,)),
    CardRange("RuPay", ("60", "65", "508", "353", "356"), (16,), (16,)),
    CardRange("RuPay", ("81", "82"), (16,), ()),
    CardRange("Maestro", ("50", "56-69"), (12, 13, 14, 15, 16, 17, 18, 19), ()),
    CardRange("Verve", ("506099-506198", "507865-507964", "650002-650027"), (16, 18, 19), (16,)),
    CardRange("Dankort", ("5019",), (16,), (16,)),
    CardRange("InterPayment", ("636",), (16, 17, 18, 19), (16,)),
    CardRange("InstaPayment", ("637-639",), (16,), (16,)),
    CardRange("Troy", ("9792",), (16,), (16,)),
    CardRange("UzCard", ("8600",), (16,), (16,)),
    CardRange("Humo", ("9860",), (16,), (16,)),
    CardRange("BORICA", ("2205",), (16,), (16,)),
    CardRange("UATP", ("1",), (15,), ()),
)
# Words that name a payment card, its networks or its parts, matched whole (see pii._build_engines).
CARD_CONTEXT = ("card", "cards", "credit", "debit", "cc", "cardholder", "visa", "mastercard", "maestro", "amex",
                "discover", "diners", "jcb", "unionpay", "mir", "rupay", "troy", "verve", "cvv", "cvc", "expiry")


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1's check: from the right, every second digit doubled (less 9 above 9)."""
    odd, even = digits[-1::-2], digits[-2::-2]
    return (sum(map(int, odd)) + sum(sum(divmod(2 * int(d), 10)) for d in even)) % 10 == 0


def in_prefix(digits: str, prefix: str) -> bool:
    low, _, high = prefix.partition("-")
    return low <= digits[:len(low)] <= (high or low)


def card_evidence(digits: str) -> bool | None:
    """True: a card number on its own; None: one only next to a card word; False: none."""
    if not luhn_valid(digits):
        return False
    ranges = [r for r in CARD_RANGES if len(digits) in r.lengths and any(in_prefix(digits, p) for p in r.prefixes)]
    if any(len(digits) in r.alone for r in ranges):
        return True
    return None if ranges else False


class CardNumberRecognizer(PatternRecognizer):
    """Payment card numbers of CARD_RANGES, 12 to 19 digits, whole or in groups split by spaces or
    dashes ("4111 1111 1111 1111", "3782-822463-10005"). It stands in for Presidio's recognizer,
    which takes any Luhn-valid run of 13 to 17 digits starting 1 or 3-6 for a card (IMEIs,
    microsecond timestamps, order numbers) and misses the 2-series, Maestro's 12 digits and 18-19.

    The patterns score WEAK; card_evidence then makes the score certain (a card on its own), keeps
    WEAK (a card only with a card word), or drops the match. A card word lifts a WEAK number over
    the threshold as Presidio's context enhancer lifts its other weak patterns: it reads the words
    before the number, and enhance_using_context those after it.
    """

    # Presidio's own weak card pattern; its enhancer's boost (context_similarity_factor), and the
    # words it reads after a value (the stage's context_suffix_count).
    WEAK, CONTEXT_BOOST, WORDS_AFTER = 0.3, 0.35, 2
    # Not inside a word, a decimal, a path or a "+41 ..." phone number, nor after another group of digits.
    _START = r"(?<![\w.,+/\\-])(?<!\d[ -])"
    PATTERNS = (
        # Followed by anything but more of the number: "4111111111111111 09/27" is a card and its expiry.
        ("card number", rf"{_START}\d{{12,19}}(?![\w/-]|[.,:]\d)"),
        # The first group of four, then groups of up to seven (Braintree shows 19 digits as 4-4-4-7),
        # one separator throughout; the whole run, or nothing: a longer run is some other number. It
        # may be followed by an expiry date ("4111 1111 1111 1111 09/27").
        ("card number in groups", (rf"{_START}\d{{4}}([ -])\d{{2,7}}(?:\1\d{{1,7}}){{1,4}}"
                                   r"(?![\w/]|[.,:-]\d|\1\d+\b(?!/))")),
    )

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="CREDIT_CARD", name="CardNumberRecognizer",
                         supported_language=supported_language, context=list(CARD_CONTEXT),
                         patterns=[Pattern(name, regex, self.WEAK) for name, regex in self.PATTERNS])

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return card_evidence(digits) if 12 <= len(digits) <= 19 else False

    def enhance_using_context(self, text: str, raw_recognizer_results: list[RecognizerResult],
                              other_raw_recognizer_results: list[RecognizerResult], nlp_artifacts: NlpArtifacts | None,
                              context: list[str] | None = None) -> list[RecognizerResult]:
        """WEAK numbers with a card word among the first WORDS_AFTER words after them, boosted.

        Presidio's enhancer counts the words after a value from the value's first token, so a number
        in groups spends that count on its own groups and never reaches "card" in "5018 0000 0009 is
        my card"; here the words are counted from the number's end. A result boosted here is marked,
        and the enhancer leaves it alone.
        """
        if nlp_artifacts is None or not nlp_artifacts.tokens:
            return raw_recognizer_results
        keywords = set(nlp_artifacts.keywords)
        results = copy.deepcopy(raw_recognizer_results)
        for result in results:
            if result.score > self.WEAK:
                continue  # certain already
            after = [lemma.lower() for lemma, at in zip(nlp_artifacts.lemmas, nlp_artifacts.tokens_indices)
                     if at >= result.end and lemma.lower() in keywords]
            word = next((w for w in after[:self.WORDS_AFTER] if w in self.context), None)
            if word is not None:
                result.score = min(result.score + self.CONTEXT_BOOST, self.MAX_SCORE)
                result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
                result.analysis_explanation.set_supportive_context_word(word)
                result.analysis_explanation.set_improved_score(result.score)
        return results


def number_recognizers(language: str) -> list[EntityRecognizer]:
    """Phone numbers (see PhoneNumberRecognizer) and payment card numbers (see CardNumberRecognizer)."""
    return [PhoneNumberRecognizer(supported_language=language), CardNumberRecognizer(supported_language=language)]


class PhoneNumberRecognizer(EntityRecognizer):
    """Phone numbers as people write them, told apart by shape from the numbers code is full of.

    A number written the way phone numbers are (a leading +, an area code in parentheses, or
    digits in groups: "(894)134-3524", "07700 316 475", "544.587.7175") scores FORMATTED, which
    the preset's `formatted_phone_threshold` lets through alone. A bare digit run, a number
    grouped like thousands ("723 813 266"), two groups of fewer than nine digits ("555-1234") or
    a short number (six digits) scores BARE and needs a phone word nearby. Shapes that are
    something else are never candidates: versions and IPv4 addresses (dotted, with one-digit or
    byte-sized groups), dates, ranges of years, ZIP+4 codes, ISBNs (checksum), CVE ids and UUID
    parts (they follow a hyphen), 13-digit epoch milliseconds, hex (next to a letter).
    libphonenumber then checks that some region has numbers of that length.

    Context is read from the characters around the number, not from spaCy's tokens, so that
    "Phone:\\n439 4166" in text with escaped line breaks (JSON, code strings) counts too.
    """

    FORMATTED, BARE, CONTEXT_BOOST = 0.45, 0.3, 0.35
    # Regions whose numbering plans decide whether a digit count is possible (most of the
    # world's phone numbers are 7 to 12 digits; these cover the common plans).
    REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "SE", "DK", "NO", "FI", "PL", "CZ",
               "IE", "BR", "AU", "IN")
    CONTEXT = ("phone", "telephone", "tel", "call", "mobile", "cell", "fax", "office", "desk", "reach", "contact",
               "dial", "answering", "text", "sms", "whatsapp", "message", "messages", "ring")
    # Escaped line breaks and tabs count as spaces around a number.
    _ESCAPE = r"\\[ntr]"
    _CANDIDATE = re.compile(
        rf"(?:(?<={_ESCAPE})|(?<![\w.+/\\#-]))"
        r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,14}(?:[ .-]\d{1,8}){0,6}(?:[ ]?x\d{1,5})?"
        rf"(?=$|{_ESCAPE}|-[^\W\d_]|\.(?!\d)|[^\w.+/\\-])",
        re.MULTILINE)
    # Dates and ranges of years ("2011-02-25 17:04", "2006-2021"), and US ZIP+4 codes ("02110-1301",
    # in every GPL notice): never phone numbers.
    _NOT_A_PHONE = re.compile(r"(?<!\d)(?:1[89]|20)\d\d([-./])\d\d?\1\d\d?(?!\d)"
                              r"|(?<!\d)\d\d?([-./])\d\d?\2(?:1[89]|20)\d\d(?!\d)"
                              r"|^(?:19|20)\d\d ?[-–] ?(?:19|20)\d\d$|^\d{5}-\d{4}$")
    _THOUSANDS = re.compile(r"\d{1,3}(?: \d{3})+")
    _WINDOW_BEFORE, _WINDOW_AFTER = 40, 20

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=["PHONE_NUMBER"], name="PhoneNumberRecognizer",
                         supported_language=supported_language, context=[])
        self._context = re.compile(rf"\b(?:{'|'.join(self.CONTEXT)})\b")

    def load(self) -> None:
        """Nothing to load: the pattern is compiled with the class."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list:
        results = []
        for match in self._CANDIDATE.finditer(text):
            score = self._score(match.group())
            if score is None:
                continue
            if self._has_context(text, match.start(), match.end()):
                score += self.CONTEXT_BOOST
            results.append(_result(self, match.start(), match.end(), min(score, 1.0)))
        return results

    def _score(self, value: str) -> float | None:
        """FORMATTED, BARE, or None when the value is not a phone number's shape."""
        number = value.split("x")[0].rstrip()
        digits = re.sub(r"\D", "", number)
        groups = re.findall(r"\d+", number)
        if not 6 <= len(digits) <= 15 or self._NOT_A_PHONE.search(number) or _is_isbn(number, digits):
            return None
        if "." in number and (len(groups) < 3 or len(digits) < 9 or any(len(g) < 2 for g in groups)
                              or (len(groups) == 4 and all(len(g) <= 3 and int(g) <= 255 for g in groups))):
            return None  # versions ("1.11.90", "8.4.26.1"), IPv4 addresses ("198.51.100.52")
        if (len(groups) == 1 and len(digits) == 13) or any(g.startswith("000") for g in groups):
            return None  # epoch milliseconds; "0002 0010", a table or a dump
        if any(len(g) > 5 for g in groups[:-1]):
            return None  # only a phone number's last group is that long: a run of separate numbers
        if not any(map(partial(_is_possible_phone, number), self.REGIONS)):
            return None
        # Two groups of fewer than nine digits ("555-1234", "5401-512") are as often ranges or ids.
        formatted = number.startswith(("+", "(")) or len(groups) > 2 or (len(groups) == 2 and len(digits) >= 9)
        if formatted and len(digits) >= 7 and not self._THOUSANDS.fullmatch(number):
            return self.FORMATTED
        return self.BARE

    def _has_context(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - self._WINDOW_BEFORE):start]
        after = text[end:end + self._WINDOW_AFTER]
        window = re.sub(self._ESCAPE, " ", f"{before} {after}").lower()
        return bool(self._context.search(window))


def _is_possible_phone(number: str, region: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:  # "+999 ...": no such country code
        return False


def _result(recognizer: EntityRecognizer, start: int, end: int, score: float) -> RecognizerResult:
    # The metadata tells Presidio which recognizer found it (it skips context enhancement for ours).
    return RecognizerResult(recognizer.supported_entities[0], start, end, score,
                            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,  # type: ignore[has-type]
                                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})


def _is_isbn(number: str, digits: str) -> bool:
    """An ISBN-13 (978/979 and its checksum) or a hyphenated ISBN-10 with a valid check digit."""
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    return (len(digits) == 10 and number.count("-") == 3
            and sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11 == 0)


class NameLists(NamedTuple):
    """Lower-case one-word names (src/opencorpus/stages/names/README.md says whence)."""

    given: frozenset[str]
    surnames: frozenset[str]


def name_lists() -> NameLists:
    """The given names and surnames shipped in opencorpus/stages/names, read once per engine."""
    import gzip
    from importlib import resources

    folder = resources.files("opencorpus.stages") / "names"
    return NameLists(*(frozenset(gzip.decompress((folder / file).read_bytes()).decode("utf-8").split())
                       for file in ("given_names.txt.gz", "surnames.txt.gz")))


class ListedNameRecognizer(EntityRecognizer):
    """PERSON for listed names that spaCy's small model leaves out: "Hi Keiran", "Claudia's kid",
    "Søren, can I ...", "Vanessa: Who are you?", a full name starting with one ("Helena Carlsen\\n637
    ..."), a surname after a title or a greeting ("ms. Lucas", "Dear Nowak"), and whatever follows
    "my name is".

    A listed name that is also an English word ("Will", "Grant", "Smith", or "David", which WordNet
    lists too; `english_words` are the lower-case words that are ambiguous that way) counts only
    after a title or greeting, before "said" and the like, or (a given name) before a surname
    that is no English word ("Regina Kowalski", "Christian P. Nowak"). A surname alone is too
    often a place or a product: it needs one of these cues, or "by" before it ("a song by Nowak"),
    even when it is no English word. A name written as part of code ("Julia.jl", "Travis(",
    "Travis:build") is skipped.
    """

    SCORE = 0.85
    # Titles put a name right after them, listed or not ("Dr. Nobbs"), in either case ("ms. Lucas").
    _TITLE = re.compile(r"\b(?:[Mm]rs?|[Mm]s|[Mm]x|[Dd]r|[Pp]rof|Miss)\.?[ \t]+$")
    # Someone's name stated: any capitalised word after it is one ("My name is Minoesch").
    _STATED = re.compile(r"\b(?:(?:[Mm]y|[Hh]is|[Hh]er|[Yy]our|[Tt]heir|[Mm]aiden|[Ll]ast|[Ff]irst|[Ff]amily)"
                         r"[ \t]+name[ \t]+is|[Cc]alls?[ \t]+me|[Cc]alled[ \t]+me)[ \t]+$")
    # Greetings and introductions put a listed name right after them; "by" a listed surname.
    _ADDRESS = re.compile(r"\b(?:[Hh]i|[Hh]ello|[Hh]ey|[Dd]ear|[Tt]hanks|[Tt]hank you|[Cc]heers|[Bb]ye|[Gg]oodbye|"
                          r"[Ww]elcome|[Nn]ame is|[Nn]amed(?:[ \t]+(?:him|her))?|[Cc]alled|I'm|I am),?[ \t]+$")
    _BY = re.compile(r"\bby[ \t]+$")
    # A speaker's name opens a line of dialogue: "Vanessa: Who are you?", also after an escaped break.
    _LINE_START = re.compile(r"(?:^|\\n)[ \t]*$", re.MULTILINE)
    _SPEAKER_COLON = re.compile(r":[ \t]*[\"“]?[^\W\d_]")
    # Words of speech after a name: "Martin said", "Hughes wrote".
    _SPEAKS = re.compile(r"[ \t]+(?:said|says|wrote|writes|asked|asks|told|tells|replied|replies|answered|added)\b")
    # Not right after a backslash: in "\\nNichole" the "n" ends an escaped line break.
    _WORD = re.compile(r"(?<!\\)[^\W\d_]+")
    # The rest of a full name, one word at a time: a space, maybe a middle initial, a word.
    _NEXT_WORD = re.compile(r"[ \t](?:[A-Z]\.?[ \t])?([^\W\d_]+)")
    # Next to these a word is code: an attribute, a call, a path, a template or a variable.
    _CODE_BEFORE = tuple(".:_$@</\\#")
    # A company's name may start with a given name.
    _ORGANISATION = re.compile(rf"(?:[ \t]+[A-Z]\w*){{0,2}},?[ \t]+{_COMPANY_SUFFIX}")
    # A colon is code unless words follow on its line: "Vanessa: Who are you?" is a speaker,
    # "Travis:build" and a heading "Patches:" are not.
    _CODE_AFTER = re.compile(r"[(_=<@/\\]|:(?![ \t]+[\"“]?[^\W\d_]|[\"“])|\.\w|['’][^s\W]")

    def __init__(self, names: NameLists, english_words: frozenset[str], supported_language: str = "en"):
        super().__init__(supported_entities=["PERSON"], name="ListedNameRecognizer",
                         supported_language=supported_language, context=[])
        self.names, self.english_words = names, english_words

    def load(self) -> None:
        """Nothing to load: the names are given."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list:
        results = []
        for match in self._WORD.finditer(text):
            word, start, end = match.group(), match.start(), match.end()
            if not (_is_capitalised(word) and len(word) > 2):
                continue
            if (start and text[start - 1] in self._CODE_BEFORE) or self._CODE_AFTER.match(text, end):
                continue
            if self._ORGANISATION.match(text, end):
                continue  # "Meta Platforms, Inc."
            if self._is_name(text, word.lower(), start, end):
                results.append(_result(self, start, self._name_end(text, end), self.SCORE))
            elif (surname := self._surname_after(text, word.lower(), end)) is not None:
                results.append(_result(self, start, self._name_end(text, surname), self.SCORE))
        return results

    def _is_name(self, text: str, word: str, start: int, end: int) -> bool:
        """Whether the capitalised word (lower-cased) at start:end is a name on its own."""
        window = max(0, start - 24)
        given, surname = word in self.names.given, word in self.names.surnames
        english = word in self.english_words
        if self._TITLE.search(text, window, start) or self._STATED.search(text, window, start):
            return given or surname or not english
        cued = bool(self._ADDRESS.search(text, window, start) or self._SPEAKS.match(text, end)
                    or (self._LINE_START.search(text, window, start) and self._SPEAKER_COLON.match(text, end)))
        if given:
            return cued or not english
        # "Files", "States": a plural is no lemma, so not among the English words.
        english = english or word.removesuffix("s") in self.english_words
        return surname and not english and (cued or bool(self._BY.search(text, window, start)))

    def _surname_after(self, text: str, word: str, end: int) -> int | None:
        """The end of the surname after a given name that is also an English word ("Regina Kowalski"):
        a listed surname that is not one (past a middle initial), else None."""
        following = self._NEXT_WORD.match(text, end)
        if word not in self.names.given or not following:
            return None
        surname = following.group(1)
        lower = surname.lower()
        if _is_capitalised(surname) and lower in self.names.surnames and lower not in self.english_words:
            return following.end()
        return None

    def _name_end(self, text: str, end: int) -> int:
        """Where a name whose first word ends at `end` ends: up to two more capitalised words on
        the line that are not English words ("Helena Carlsen"), a middle initial allowed before one."""
        for _ in range(2):
            following = self._NEXT_WORD.match(text, end)
            if not following:
                break
            word = following.group(1).lower()
            if not _is_capitalised(following.group(1)) or {word, word.removesuffix("s")} & self.english_words:
                break
            end = following.end()
        return end


def _is_capitalised(word: str) -> bool:
    return word[0].isupper() and word[1:].islower()
