"""Presidio recognizers of our own: names that the text itself marks as names, and secrets in code.

spaCy's small model misses about a third of the names in changelogs and sign-offs, yet those
lines say outright where a name is: before an e-mail in angle brackets, after `Signed-off-by:`,
inside a Debian `[ Name ]` header, after `Copyright 2020`. Secrets have documented shapes
(PEM armour, AWS key ids, `Bearer` headers, `user:password@` in URLs).

Presidio compiles each pattern with the `regex` module (hence \\p{Lu}, and look-behinds of any
length). Every pattern is linear: no nested quantifiers, every repeat bounded, so a long or
hostile text cannot make one hang; the stage also feeds them chunks of bounded length.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

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
# Two to four words; a word may not start an organisation's name.
_NAME = (rf"(?!{_NOT_A_PERSON})(?:{_WORD})"
         rf"(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}(?!{_NOT_A_PERSON})(?:{_WORD})){{1,3}}"
         rf"(?![\p{{L}}\p{{M}}'’-])")
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


def number_recognizers(language: str) -> list[PatternRecognizer]:
    """Phone and card numbers written in formats Presidio's recognizers miss; both score below
    the threshold alone and need a context word ("call", "fax", "card", ...) next to them."""
    phone = (r"(?<![\w.+/-])(?!\d{4}-\d\d-\d\d\b|\d{1,3}(?:\.\d{1,3}){3}(?![\d.]))"  # not a date, not IPv4
             r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,8}){1,4}(?:[ ]?x\d{1,5})?"
             r"(?![\w.+/-]|\.\d)")
    card = r"(?<![\w.-])(?:2[2-7]|3[47]|4|5[1-5]|6)\d{1,3}(?:[ -]?\d{2,4}){2,5}(?![\w-]|\.\d)"
    return [
        PatternRecognizer(supported_entity="PHONE_NUMBER", name="PhoneLikeRecognizer", supported_language=language,
                          patterns=[Pattern("grouped digits", phone, 0.3)], global_regex_flags=re.MULTILINE,
                          context=["phone", "telephone", "tel", "call", "mobile", "cell", "fax", "office", "desk",
                                   "reach", "contact", "answering", "dial", "text", "sms", "whatsapp"]),
        _LuhnCardRecognizer(supported_entity="CREDIT_CARD", name="LuhnCardRecognizer", supported_language=language,
                            patterns=[Pattern("card digits", card, 0.3)], global_regex_flags=re.MULTILINE,
                            context=["card", "credit", "debit", "cc", "visa", "mastercard", "amex", "maestro"]),
    ]


class CandidatePhoneRecognizer(PhoneRecognizer):
    """Presidio's PhoneRecognizer (libphonenumber), run only where a number could be.

    libphonenumber's matcher scans the whole text once per region (eight of them), a third of
    the stage's time on code and changelogs; here it reads only runs of six or more digits
    (with the separators numbers are written with), plus a little on each side for its own
    boundary checks. The results are the same spans.
    """

    _CANDIDATE = re.compile(r"\d(?:[ \t().\-/]{0,3}\d){5,}")
    _MARGIN = 8

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list:
        results = []
        for candidate in self._CANDIDATE.finditer(text):
            start = max(0, candidate.start() - self._MARGIN)
            for result in super().analyze(text[start:candidate.end() + self._MARGIN], entities, nlp_artifacts):
                result.start, result.end = result.start + start, result.end + start
                results.append(result)
        return EntityRecognizer.remove_duplicates(results)
