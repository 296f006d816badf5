"""License tagging for the foundation: SPDX identifier lines, declared source license, NOASSERTION."""

from opencorpus.document import Document
from opencorpus.stages.license import NOASSERTION, LicenseOptions, LicenseTagger, find_spdx_identifiers


def tag(text, source="s", declared=None):
    tagger = LicenseTagger(LicenseOptions(), {"s": declared})
    tagger.setup()
    [doc] = tagger.process(Document(id="s/1", text=text, source=source, location="f:1"))
    return doc.metadata


def test_spdx_line_wins_over_the_declared_license():
    meta = tag("/* SPDX-License-Identifier: GPL-2.0+ OR BSD-3-Clause */\nint x;", declared="MIT")
    assert meta["license"] == "GPL-2.0-or-later OR BSD-3-Clause"
    [ev] = meta["license_evidence"]
    assert ev["method"] == "spdx-identifier" and ev["where"] == "line 1" and ev["confidence"] == 1.0
    assert "SPDX-License-Identifier: GPL-2.0+ OR BSD-3-Clause" in ev["matched"]


def test_declared_license_is_the_fallback_and_marked_as_declared():
    meta = tag("int main(void) { return 0; }", declared="Apache-2.0")
    assert meta["license"] == "Apache-2.0"
    assert meta["license_evidence"] == [{"method": "declared", "where": "recipe", "matched": "Apache-2.0",
                                         "confidence": 1.0, "expression": "Apache-2.0"}]


def test_nothing_known_is_noassertion():
    meta = tag("just words")
    assert meta["license"] == NOASSERTION and meta["license_evidence"] == []


def test_unknown_spdx_id_is_recorded_not_used(caplog):
    meta = tag("# SPDX-License-Identifier: Foo-1.0\n", declared="MIT")
    assert meta["license"] == "MIT"
    bad = meta["license_evidence"][0]
    assert bad["confidence"] == 0.0 and "Foo-1.0" in bad["error"]
    assert "f:1" in caplog.text and "line 1" in caplog.text


def test_several_identifiers_combine():
    meta = tag("// SPDX-License-Identifier: MIT\n// SPDX-License-Identifier: Apache-2.0\n// SPDX-License-Identifier: MIT")
    assert meta["license"] == "Apache-2.0 AND MIT"
    assert [e["where"] for e in meta["license_evidence"]] == ["line 1", "line 2", "line 3"]


def test_identifier_trailers_are_stripped():
    found = find_spdx_identifiers('<!-- SPDX-License-Identifier: CC-BY-4.0 -->\n""" SPDX-License-Identifier: 0BSD """')
    assert [e["expression"] for e in found] == ["CC-BY-4.0", "0BSD"]
