"""License statements in the 20 most common content languages of the web (W3Techs, see
tests/data/README.md): real translated notices shipped in Debian 12 packages, read as the SPDX
expression their words support: "only" against "or later", a choice of licenses (OR), and the
"either version N ... or (at your option) any later version" grant that is no choice of licenses."""

import json
from collections import defaultdict
from pathlib import Path

import pytest

from opencorpus.document import Document
from opencorpus.stages.license import NOASSERTION, LicenseOptions, LicenseTagger
from opencorpus.stages.licenses.normalize import equivalent
from opencorpus.stages.licenses.phrases import offers_choice

NOTICES = Path(__file__).parent / "data" / "licenses" / "multilingual" / "notices.jsonl"
# W3Techs content-language ranking (2025), the 20 most used.
LANGUAGES = ["en", "es", "de", "ja", "fr", "ru", "pt", "it", "nl", "pl", "tr", "zh", "fa", "vi", "id", "cs", "ko", "uk",
             "ar", "sv"]


def by_language() -> dict[str, list[dict]]:
    out = defaultdict(list)
    for line in NOTICES.read_text("utf-8").splitlines():
        row = json.loads(line)
        out[row["lang"]].append(row)
    return out


ROWS = by_language()


@pytest.fixture(scope="module")
def tagger():
    t = LicenseTagger(LicenseOptions(), {})
    t.setup()
    return t


def license_of(tagger: LicenseTagger, text: str) -> str:
    """The stage's expression for a snippet; help-page markup (Mallard <p>/<link>) is read as a page."""
    markup = text.lstrip().startswith("<")
    doc = Document(id="ml/x", text="" if markup else text, raw=text if markup else None, source="ml",
                   kind="web" if markup else "code", location="f:1")
    [out] = tagger.process(doc)
    return out.metadata["license"]


def is_right(predicted: str, row: dict) -> bool:
    return predicted != NOASSERTION and any(equivalent(predicted, want)
                                            for want in [row["truth"], *row["also_acceptable"]])


def offers_a_choice(row: dict) -> bool | None:
    """What the row's words say: a choice of licenses (OR), none, or either reading (None: the
    translation says "both"/"these" licenses where the original offers a choice)."""
    readings = {" OR " in want for want in [row["truth"], *row["also_acceptable"]]}
    return readings.pop() if len(readings) == 1 else None


def test_every_language_has_real_notices_of_several_kinds():
    assert set(ROWS) == set(LANGUAGES)
    for lang, rows in ROWS.items():
        assert {r["kind"] for r in rows} >= {"or-later"}, lang
        assert all(r["package"] and r["version"] and r["file"] for r in rows)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_notices_read_right_in(tagger, lang):
    # "or-phrase" rows: the licenses they offer are not both names the stage reads (see the row's "how")
    rows = [r for r in ROWS[lang] if r["kind"] != "or-phrase"]
    misses = [(r["id"], r["truth"], got) for r in rows if not is_right(got := license_of(tagger, r["text"]), r)]
    assert misses == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_choice_of_licenses_is_told_from_choice_of_versions_in(lang):
    # "either version 2 ... or (at your option) any later version" ("soit selon la version 2, soit (à votre
    # choix) ...", "entweder Version 3 ... oder ...") offers versions of one license: no OR.
    rows = [r for r in ROWS[lang] if offers_a_choice(r) is not None]
    assert [(r["id"], offers_choice(r["text"])) for r in rows] == [(r["id"], offers_a_choice(r)) for r in rows]
