"""Presidio recognizers of our own: names that the text itself marks as names, given names from
a list, phone numbers told apart from the numbers in code, card numbers, and secrets in code.

spaCy's small model misses about a third of the names in changelogs and sign-offs, yet those
lines say outright where a name is: before an e-mail in angle brackets, after `Signed-off-by:`,
inside a Debian `[ Name ]` header, after `Copyright 2020`. Secrets have documented shapes
(PEM armour, AWS key ids, `Bearer` headers, `user:password@` in URLs).

Presidio compiles each pattern with the `regex` module (hence \\p{Lu}, and look-behinds of any
length); the two EntityRecognizers (phones, given names) use `re` themselves. Every pattern is
linear: no nested quantifiers, every repeat bounded, so a long or hostile text cannot make one
hang; the stage also feeds them chunks of bounded length.
"""

from __future__ import annotations

import re
from functools import partial

import phonenumbers
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# Entity types these recognizers add to Presidio's.
SECRET_TYPES = ("PRIVATE_KEY", "ACCESS_KEY", "API_TOKEN", "PASSWORD")

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


class _LuhnCardRecognizer(PatternRecognizer):
    """Card numbers that Presidio's own pattern leaves out (2-series Mastercard, 12-19 digits),
    kept only when the Luhn check passes, and then only next to a card word: a Luhn-valid
    digit run alone is as likely an id."""

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = [int(c) for c in pattern_text if c.isdigit()]
        odd, even = digits[-1::-2], digits[-2::-2]
        checksum = sum(odd) + sum(sum(divmod(2 * d, 10)) for d in even)
        return None if checksum % 10 == 0 else False  # None: keep the pattern's score


def number_recognizers(language: str) -> list[EntityRecognizer]:
    """Phone numbers (see PhoneNumberRecognizer), and card numbers in formats Presidio's own
    recognizer misses, which score below the threshold alone and need a card word next to them."""
    card = r"(?<![\w.-])(?:2[2-7]|3[47]|4|5[1-5]|6)\d{1,3}(?:[ -]?\d{2,4}){2,5}(?![\w-]|\.\d)"
    return [
        PhoneNumberRecognizer(supported_language=language),
        _LuhnCardRecognizer(supported_entity="CREDIT_CARD", name="LuhnCardRecognizer", supported_language=language,
                            patterns=[Pattern("card digits", card, 0.3)], global_regex_flags=re.MULTILINE,
                            context=["card", "credit", "debit", "cc", "visa", "mastercard", "amex", "maestro"]),
    ]


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
                            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
                                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})


def _is_isbn(number: str, digits: str) -> bool:
    """An ISBN-13 (978/979 and its checksum) or a hyphenated ISBN-10 with a valid check digit."""
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    return (len(digits) == 10 and number.count("-") == 3
            and sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11 == 0)


class FirstNameRecognizer(EntityRecognizer):
    """PERSON for given names that spaCy's small model leaves out: "Hi Keiran", "Claudia's kid",
    "Renátó, can I ...", and a full name starting one ("Helena Carlsen\\n637 ...").

    The names are Jörg Michael's list of 45,000 first names from many countries (the data file
    of the `gender-guesser` package, GNU FDL 1.2), read once. A name that is also an English
    word ("Will", "Grant", "Rose", or "David", which WordNet lists too) counts only after a
    greeting or in "my name is ...", "I'm ...": `english_words` are the lower-case words that
    are ambiguous that way. A name written as part of code ("Julia.jl", "Travis(") is skipped.
    """

    SCORE = 0.85
    # Words that put a name right after them.
    _ADDRESS = re.compile(r"(?:\b(?:[Hh]i|[Hh]ello|[Hh]ey|[Dd]ear|[Tt]hanks|[Tt]hank you|[Cc]heers|[Bb]ye|[Gg]oodbye|"
                          r"[Ww]elcome|[Nn]ame is|[Nn]amed|[Cc]alled|[Cc]alls me|I'm|I am|Mr|Mrs|Ms|Miss|Dr)\.?,?[ \t]+)$")
    _WORD = re.compile(r"[^\W\d_]+")
    # Next to these a word is code: an attribute, a call, a path, a template or a variable.
    _CODE_BEFORE = tuple(".:_$@</\\#")
    # A company's name may start with a given name.
    _ORGANISATION = re.compile(rf"(?:[ \t]+[A-Z]\w*){{0,2}},?[ \t]+{_COMPANY_SUFFIX}")
    _CODE_AFTER = re.compile(r"[(_:=<@/\\]|\.\w|['’][^s\W]")

    def __init__(self, names: frozenset[str], english_words: frozenset[str], supported_language: str = "en"):
        super().__init__(supported_entities=["PERSON"], name="FirstNameRecognizer",
                         supported_language=supported_language, context=[])
        self.names, self.english_words = names, english_words

    def load(self) -> None:
        """Nothing to load: the names are given."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list:
        results = []
        words = list(self._WORD.finditer(text))
        for i, match in enumerate(words):
            word, start = match.group(), match.start()
            if not (word[0].isupper() and word[1:].islower() and len(word) > 2 and word in self.names):
                continue
            if (start and text[start - 1] in self._CODE_BEFORE) or self._CODE_AFTER.match(text, match.end()):
                continue
            if word.lower() in self.english_words and not self._ADDRESS.search(text, max(0, start - 20), start):
                continue
            end = match.end()
            if self._ORGANISATION.match(text, end):
                continue  # "Meta Platforms, Inc."
            # A surname on the same line completes the name: "Helena Carlsen".
            for following in words[i + 1:i + 3]:
                gap, next_word = text[end:following.start()], following.group()
                if (gap not in (" ", "\t") or not (next_word[0].isupper() and next_word[1:].islower())
                        or {next_word.lower(), next_word.lower().removesuffix("s")} & self.english_words):
                    break
                end = following.end()
            results.append(_result(self, start, end, self.SCORE))
        return results


def first_names() -> frozenset[str]:
    """The one-word given names of gender-guesser's nam_dict.txt (compounds such as
    "Jean+Luc" are left out: their parts are listed on their own)."""
    from importlib import resources

    names = set()
    with (resources.files("gender_guesser") / "data" / "nam_dict.txt").open(encoding="utf-8") as lines:
        for line in lines:
            if line[0] not in "#=" and "+" not in (name := line.split()[1]):
                names.add(name)
    return frozenset(names)
