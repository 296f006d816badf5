"""The words of license notices in the languages of the web, for reading a notice's terms (which
GNU license, which version, "or later", a choice of licenses) whatever its language.

License *names* such as "GPL", "CC BY-SA 3.0" or "GNU General Public License" are matched the same in
every language (matcher, html, gnu); what changes from language to language is the rest: how a
translation names the GNU licenses ("Licence Publique Générale GNU", "GNU 通用公共许可证"), the word
for "version" and where the number stands ("第 3 版", "3판", "2. sürümü"), "or (at your option) any
later version" ("oder neuer", "ou toute version ultérieure", "或更高版本", "以降") and the phrases that
offer a choice between licenses ("two licenses", "deux licences", "under either license", "(1) ... or
(2) ..."). One table per language, from real translated notices (tests/data/licenses/multilingual):
the 20 most used content languages of the web, and Danish, Norwegian and Romanian, whose legal
notices were read before. Phrases are regular-expression fragments, matched case-insensitively.

A language's words are not tied to the document's language: notices mix languages (a French page
quoting the English grant), so the tables are merged into one pattern per kind of phrase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Declined or compounded forms: "Licencji", "ліцензії", "Lisansı’nın", "Lizenzen".
_W = r"[\w’'‐\u0654\u200c-]*"  # with Persian hamza above and zero-width non-joiner

LICENSE_WORDS = {
    "en": [r"licen[cs]e"], "de": [r"lizenz" + _W], "es": [r"licencia" + _W], "fr": [r"licence" + _W],
    "it": [r"licenz" + _W], "pt": [r"licen[çc]a" + _W], "nl": [r"licentie" + _W], "pl": [r"licencj" + _W],
    "cs": [r"licenc" + _W], "ru": [r"лицензи" + _W], "uk": [r"ліценз" + _W], "tr": [r"lisans" + _W],
    "id": [r"lisensi"], "vi": [r"giấy\s+phép"], "sv": [r"licens" + _W], "da": [r"licens" + _W],
    "ro": [r"licen[țţt]" + _W], "zh": [r"许可证?", r"許可證?", r"授[权權]"],
    "ja": [r"(?:利用|使用)許諾(?:契約)?書", r"ライセンス"],
    "ko": [r"허가서", r"라이선스"], "ar": [r"(?:ال)?رخص" + _W], "fa": [r"پروانه" + _W, r"مجوز" + _W],
}
# "General" and "Public" of "General Public License" (and the connecting words of a translated name).
NAME_WORDS = {
    "en": [r"general", r"public"], "de": [r"allgemeine" + _W, r"öffentliche" + _W, r"der", r"die"],
    "es": [r"p[uú]blica", r"general", r"de", r"del"], "fr": [r"publique", r"g[eé]n[eé]rale", r"de", r"du"],
    "it": [r"pubblica", r"generica", r"generale", r"public", r"general"], "pt": [r"p[uú]blica", r"geral", r"do", r"da", r"de"],
    "nl": [r"algemene", r"publieke"], "pl": [r"powszechn" + _W, r"publiczn" + _W], "cs": [r"obecn" + _W, r"veřejn" + _W],
    "ru": [r"стандартн" + _W, r"общественн" + _W], "uk": [r"загальн" + _W, r"громадськ" + _W],
    "tr": [r"genel", r"kamu"], "id": [r"publik", r"umum"], "vi": [r"công(?:\s+cộng)?", r"chung"],
    "sv": [r"generella", r"publika", r"allmänna"], "da": [r"almindelige", r"offentlige"],
    "ro": [r"public" + _W, r"general" + _W], "zh": [r"通用", r"公共"], "ja": [r"一般", r"公衆", r"公有", r"の"],
    "ko": [r"일반", r"공중", r"사용"], "ar": [r"العمومية", r"العامة"], "fa": [r"جامع", r"همگانی", r"عمومی"],
}
# Qualifiers of the other GNU licenses: Lesser (LGPL), Affero, Free Documentation.
LESSER_WORDS = {
    "en": [r"lesser", r"library"], "es": [r"reducida", r"menor"], "fr": [r"limit[ée]e", r"amoindrie"],
    "it": [r"minore", r"attenuata", r"lesser"], "pt": [r"menor", r"reduzida"], "pl": [r"pomniejsz" + _W],
    "cs": [r"menší", r"nižší"], "ru": [r"меньш" + _W, r"ограниченного\s+применения"],
    "uk": [r"менш" + _W, r"скорочен" + _W, r"звужен" + _W],
    "tr": [r"kısıtlı"], "id": [r"lebih\s+rendah", r"kecil"], "vi": [r"hạn\s+chế", r"nhỏ\s+hơn"], "ro": [r"mic[ăa]"],
    "zh": [r"宽松", r"寬鬆", r"較寬鬆", r"较宽松"], "ja": [r"劣等"], "ko": [r"약소"], "ar": [r"الصغرى", r"المصغرة"],
    "fa": [r"کم‌?تر"],
}
AFFERO_WORDS = [r"affero"]
DOCUMENTATION_WORDS = {
    "en": [r"free\s+documentation"], "es": [r"documentaci[oó]n\s+libre"], "fr": [r"documentation\s+libre"],
    "it": [r"documentazione\s+libera"], "pt": [r"documenta[çc][ãa]o\s+livre"], "de": [r"freie\s+dokumentation"],
}
# The GNU project's name, written in other scripts too.
GNU_NAMES = [r"GNUs?", r"جنو", r"لجنو", r"گنو", r"그누"]
# "General Public License" alone names the GPL too ("bajo los términos de la Licencia Pública General").
GENERAL_PUBLIC_LICENSE = {
    "en": [r"general\s+public\s+licen[cs]e"], "es": [r"licencia\s+p[uú]blica\s+general"],
    "fr": [r"licence\s+publique\s+g[ée]n[ée]rale"], "it": [r"licenza\s+pubblica\s+generica"],
    "pt": [r"licen[çc]a\s+p[uú]blica\s+geral"], "pl": [r"powszechn\w*\s+licencj\w*\s+publiczn\w*"],
    "ru": [r"стандартн\w*\s+общественн\w*\s+лицензи\w*"], "uk": [r"загальн\w*\s+громадськ\w*\s+ліценз\w*"],
    "tr": [r"genel\s+kamu\s+lisans\w*"],
}

# "version" and where the number stands. {n}: a version number (digits normalised to ASCII).
VERSION_BEFORE_NUMBER = {
    "en": [r"version", r"ver\.?", r"v"], "de": [r"version"], "es": [r"versi[oó]n"], "fr": [r"version"], "it": [r"versione"],
    "pt": [r"vers[ãa]o"], "nl": [r"versie"], "pl": [r"wersj" + _W], "cs": [r"verz" + _W], "ru": [r"верси" + _W],
    "uk": [r"версі" + _W], "tr": [r"sürüm" + _W], "id": [r"versi"], "vi": [r"phiên\s+bản"], "sv": [r"version"],
    "da": [r"version"], "ro": [r"versiun" + _W], "hr": [r"inačic" + _W], "zh": [r"版本", r"第"], "ja": [r"バージョン", r"第"],
    "ko": [r"버전", r"제"], "ar": [r"(?:ال)?[إا]صدار" + _W, r"(?:ال)?نسخة"], "fa": [r"نگارش", r"نسخه" + _W],
}
VERSION_AFTER_NUMBER = {
    "tr": [r"\.\s*sürüm" + _W], "zh": [r"版(?:本)?"], "ja": [r"版"], "ko": [r"판"],
}
# Spelled-out versions ("第二版", "الإصدارة الثانية", "wersji trzeciej"): the GNU licenses have versions 1 to 3.
ORDINALS = {
    "1": [r"first", r"一", r"الأولى", r"الأول", r"pierwszej", r"первой"],
    "2": [r"second", r"二", r"الثانية", r"الثاني", r"drugiej", r"второй", r"другої"],
    "3": [r"third", r"三", r"الثالثة", r"الثالث", r"trzeciej", r"третьей", r"третьої"],
}
# "or (at your option) any later version" and its short forms ("3+", "or later", "oder neuer").
LATER = {
    "en": [r"any\s+later", r"or\s+later", r"or\s+newer", r"or\s+higher", r"or\s+above", r"later\s+version"],
    "de": [r"späteren", r"später", r"neuer", r"höher", r"jünger", r"jeder\s+folgenden"], "es": [r"posterior" + _W, r"superior"],
    "fr": [r"ult[ée]rieure", r"suivante", r"sup[ée]rieure"], "it": [r"successiv" + _W, r"più\s+recente"],
    "pt": [r"posterior", r"superior", r"mais\s+nova", r"mais\s+recente"],
    "nl": [r"later" + _W, r"hoger", r"nieuwer" + _W], "pl": [r"późniejsz" + _W, r"nowsz" + _W],
    "cs": [r"pozdější", r"novější", r"vyšší"], "ru": [r"поздн" + _W, r"новее", r"нов(?:ой|ее|ая)\s+верси"],
    "uk": [r"пізн" + _W, r"новіш" + _W, r"вищ" + _W, r"подальш" + _W], "tr": [r"sonra" + _W, r"daha\s+yeni" + _W],
    "id": [r"lebih\s+baru", r"lebih\s+tinggi", r"setelahnya", r"selanjutnya", r"sesudahnya"],
    "vi": [r"mới\s+hơn", r"trở\s+lên", r"(?:hay|hoặc)\s+sau", r"phiên\s+bản\s+sau"], "sv": [r"senare", r"nyare"],
    "da": [r"senere"], "nb": [r"nyere", r"senere"], "ro": [r"ulterioar" + _W],
    "zh": [r"更高", r"更新", r"以上", r"以后", r"之后"], "ja": [r"以降", r"以上"], "ko": [r"이상", r"이후"],
    "ar": [r"أحدث", r"لاحق" + _W, r"بعدها"], "fa": [r"بالاتر", r"جدیدتر", r"بعدی"],
}
# A choice between licenses: "two licenses" (the number word; where it is also an English word, "due",
# "to", the whole phrase is under CHOICE), "dual-licensed", "under either license", "one of ...".
TWO = {
    "en": [r"two"], "de": [r"zwei(?:er)?"], "es": [r"dos"], "fr": [r"deux"], "pt": [r"duas"],
    "nl": [r"twee"], "pl": [r"dw(?:óch|ie|oma)"], "cs": [r"dv(?:ou|ěma|ě)"], "ru": [r"дв(?:ух|умя|е)"],
    "uk": [r"дв(?:ох|ома|і)"], "tr": [r"iki"], "id": [r"dua"], "vi": [r"hai"], "sv": [r"två"],
    "ro": [r"dou[ăa]", r"celor\s+dou[ăa]"], "zh": [r"两种", r"兩種", r"两个", r"兩個", r"双重", r"雙重"],
    "ja": [r"2\s*つの", r"二つの", r"2\s*種類の", r"二種類の"], "ko": [r"두\s*가지", r"두", r"2\s*개의"],
    "fa": [r"دو"],
}
CHOICE = {
    "en": [r"dual[- ]licen[cs]ed", r"one\s+of\s+the\s+above[- ]listed\s+licen[cs]es", r"under\s+either\s+licen[cs]e",
           r"at\s+your\s+(?:option|choice),?\s+(?:under\s+)?(?:either|one\s+of)"],
    "de": [r"doppel(?:t\s+)?lizen\w*", r"dual\s+lizenziert", r"einer\s+der\s+(?:beiden\s+)?Lizenzen", r"nach\s+Wahl\s+unter"],
    "es": [r"doble\s+licencia", r"cualquiera\s+de\s+(?:las|estas)(?:\s+dos)?\s+licencias", r"licencia\s+dual"],
    "fr": [r"double\s+licence", r"l['’]une\s+ou\s+l['’]autre\s+des\s+(?:deux\s+)?licences", r"au\s+choix\s+(?:sous|selon)"],
    "it": [r"due\s+licenze", r"doppia\s+licenza", r"una\s+qualsiasi\s+delle\s+(?:due\s+)?licenze", r"a\s+scelta\s+tra"],
    "pt": [r"licenciad[ao]\s+duplamente", r"dupla\s+licen[çc]a", r"qualquer\s+(?:uma\s+)?dessas\s+licen[çc]as"],
    "nl": [r"dubbele\s+licentie", r"een\s+van\s+(?:beide|de\s+twee)\s+licenties"],
    "pl": [r"podwójn\w+\s+licencj\w*", r"jednej\s+z\s+(?:tych\s+|dwóch\s+)*licencji"],
    "cs": [r"duální\w*\s+licenc\w*", r"jedné\s+nebo\s+druhé"],
    "ru": [r"двойного\s+лицензирования", r"любой\s+из\s+(?:этих\s+|двух\s+)*лицензий"],
    "uk": [r"подвійн\w+\s+ліценз\w*", r"будь-якої\s+з\s+(?:цих\s+|двох\s+)*ліцензій"],
    "tr": [r"çift\s+lisans\w*", r"lisanslardan\s+biri\w*"],
    "id": [r"salah\s+satu\s+lisensi", r"lisensi\s+ganda"], "vi": [r"giấy\s+phép\s+kép", r"một\s+trong\s+hai\s+giấy\s+phép"],
    "sv": [r"endera\s+licens\w*", r"dubbellicens\w*"], "da": [r"to\s+licenser"], "nb": [r"to\s+lisenser"],
    "zh": [r"任一许可", r"任選其一", r"任选其一", r"双重许可", r"雙重授權"],
    "ja": [r"デュアルライセンス", r"いずれかのライセンス"], "ko": [r"이중\s*라이선스", r"둘\s*중\s*하나"],
    "ar": [r"رخصتين", r"ترخيصين", r"ترخيص\s+مزدوج", r"أي\s+من\s+الترخيصين"],
    "fa": [r"مجوز\s+دوگانه", r"هر\s+یک\s+از\s+(?:این\s+)?(?:دو\s+)?مجوز"],
}
# "or" between enumerated alternatives: "either (1) the GNU GPL ... or (2) the Less License".
OR_WORDS = [r"or", r"oder", r"ou", r"o", r"of", r"albo", r"lub", r"або", r"или", r"nebo", r"eller", r"veya", r"ya\s+da",
            r"atau", r"hoặc", r"或", r"または", r"또는", r"أو", r"یا"]

# Persian and Arabic-Indic digits and decimal separators, to ASCII (same length: offsets stay).
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫", "01234567890123456789.")


def ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def _union(tables: dict[str, list[str]] | list[str]) -> str:
    fragments: Iterable[str] = tables if isinstance(tables, list) else (f for words in tables.values() for f in words)
    # longest first, so that "較寬鬆" wins over "寬鬆" and "celor două" over "două"
    return "|".join(sorted(set(fragments), key=len, reverse=True))


GNU = re.compile(rf"(?<![\w]){_union(GNU_NAMES)}(?![a-z])|{_union(GENERAL_PUBLIC_LICENSE)}", re.I)
LICENSE = re.compile(_union(LICENSE_WORDS), re.I)
LESSER = re.compile(_union(LESSER_WORDS), re.I)
AFFERO = re.compile(_union(AFFERO_WORDS), re.I)
DOCUMENTATION = re.compile(_union(DOCUMENTATION_WORDS), re.I)
# A word of a GNU license's name, next to another across spaces, hyphens, quotes, brackets.
NAME_WORD = (rf"(?:{_union(LICENSE_WORDS)}|{_union(NAME_WORDS)}|{_union(LESSER_WORDS)}|{_union(AFFERO_WORDS)}|"
             rf"{_union(DOCUMENTATION_WORDS)}|(?:L|A)?GPL)")
NAME_GAP = r"[\s«»\"“”„'()（）‐\u200c-]*"
_NUMBER = r"(\d(?:\.\d)?)(?![\d.]*\d)"
_ORDINAL = _union([w for words in ORDINALS.values() for w in words])
_ORDINAL_NUMBER = {n: re.compile("|".join(words), re.I) for n, words in ORDINALS.items()}
VERSION = re.compile(
    rf"(?<![a-z])(?:{_union(VERSION_BEFORE_NUMBER)})\s*{_NUMBER}"
    rf"|(?<![\w.])(?:(?:L|A)?GPL)\s?v?{_NUMBER}"
    rf"|(?<![\w.]){_NUMBER}\s*(?:{_union(VERSION_AFTER_NUMBER)})"
    rf"|(?:{_union(VERSION_BEFORE_NUMBER)})\s*(?:{_ORDINAL})|(?:{_ORDINAL})\s*(?:{_union(VERSION_AFTER_NUMBER)})",
    re.I)
LATER_TERMS = re.compile(rf"^\+|{_union(LATER)}", re.I)
TWO_LICENSES = re.compile(rf"(?<!\w)(?:{_union(TWO)})\s+(?:\w+\s+)?(?:{_union(LICENSE_WORDS)})", re.I)
CHOICE_TERMS = re.compile(_union(CHOICE), re.I)
ENUMERATED = re.compile(rf"\(1\)[\s\S]{{3,300}}?(?<!\w)(?:{_union(OR_WORDS)})\s+\(2\)", re.I)


def version_of(m: re.Match[str]) -> str:
    """The version a VERSION match names ("2", "2.1", or a spelled-out ordinal's number)."""
    number = next((g for g in m.groups() if g and g[0].isdigit()), None)
    if number is None:
        number = next(n for n, rx in _ORDINAL_NUMBER.items() if rx.search(m.group(0)))
    return number if "." in number else number + ".0"


# A choice is offered next to a word for "license"; str.find finds those fast, while the phrase
# patterns run at a few MB/s: they read only the stretches around them.
_LICENSE_KEYS = tuple(v for key in ("licen", "lizen", "lisans", "lisens", "лиценз", "ліценз", "giấy phép")
                      for v in (key, key.upper(), key.capitalize(), key.title())) + (
    "许可", "許可", "授权", "授權", "ライセンス", "라이선스", "허가서", "رخص", "ترخيص", "مجوز", "پروانه")
CHOICE_REACH = 300


def key_windows(text: str, keys: Iterable[str], reach: int) -> list[tuple[int, int]]:
    """The stretches of text within `reach` characters of a literal key, merged, in text order."""
    windows: list[tuple[int, int]] = []
    for i in sorted(i for key in set(keys) for i in _find_all(text, key)):
        lo, hi = max(0, i - reach), i + reach
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def _find_all(text: str, key: str) -> list[int]:
    out, i = [], text.find(key)
    while i >= 0:
        out.append(i)
        i = text.find(key, i + 1)
    return out


def offers_choice(text: str) -> bool:
    """Whether the text offers a choice between licenses (OR): "two licenses", "dual licensed", "under
    either license", "(1) ... or (2) ..." in any of the tables' languages. "either version 2 ... or
    (at your option) any later version" offers versions of one license, not a choice of licenses."""
    return any(rx.search(text, lo, hi) for lo, hi in key_windows(text, _LICENSE_KEYS, CHOICE_REACH)
               for rx in (TWO_LICENSES, CHOICE_TERMS, ENUMERATED))
