"""License policy (filters/licenses/*.yaml) and its recipe options: categories from LicenseDB plus
NC/ND rules, keep/flag/drop, drops disclosed as Removed with the license; license_file sources."""

import pytest

from opencorpus.document import Document, Removed
from opencorpus.recipe import RecipeError, parse_recipe, resolve_stage_options
from opencorpus.stages.license import LicenseOptions, LicenseTagger
from opencorpus.stages.licenses.discovery import with_license_trees
from opencorpus.stages.licenses.policy import LicensePolicy, PolicyOptions

RECIPE = "name: c\ndate: 2026-11-01\nsources: [{name: s, uri: data.jsonl}]\n"


def license_options(stage_yaml: str = "{}") -> dict:
    return parse_recipe(RECIPE + f"stages: {{license: {stage_yaml}}}\n").stage("license")


@pytest.fixture(scope="module")
def policy():
    return LicensePolicy(PolicyOptions.from_options(license_options()))


@pytest.mark.parametrize("expression,category", [
    ("MIT", "permissive"), ("Apache-2.0", "permissive"), ("GPL-3.0-only", "copyleft"),
    ("LGPL-2.1-or-later", "weak-copyleft"), ("MPL-2.0", "weak-copyleft"), ("CC0-1.0", "public-domain"),
    ("CC-BY-NC-4.0", "non-commercial"), ("CC-BY-NC-ND-4.0", "no-derivatives"), ("CC-BY-ND-4.0", "no-derivatives"),
    ("NOASSERTION", "unknown"), ("LicenseRef-Frobnicate", "unknown"),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", "copyleft"),
    ("BSD-3-Clause OR GPL-2.0-only", "permissive"),  # a choice: the most permissive option
    ("MIT AND GPL-2.0-only", "copyleft"),  # all apply: the most restrictive part
    ("CC-BY-SA-3.0 OR GPL-2.0-or-later", "weak-copyleft"),  # LicenseDB: CC-BY-SA is "Copyleft Limited"
])
def test_categories_come_from_licensedb_and_nc_nd_rules(policy, expression, category):
    assert policy.category(expression) == category


def tag(options, text, doc_id="s/1"):
    tagger = LicenseTagger(LicenseOptions.from_options(options), {"s": None})
    tagger.setup()
    return list(tagger.process(Document(id=doc_id, text=text, source="s", metadata={"sha256": "ab" * 32})))


def test_default_policy_keeps_and_sets_the_category():
    [doc] = tag(license_options(), "// SPDX-License-Identifier: GPL-3.0-or-later\n")
    assert doc.metadata["license_category"] == "copyleft" and "license_flagged" not in doc.metadata


def test_flag_keeps_the_document_and_marks_it():
    [doc] = tag(license_options(), "<!-- SPDX-License-Identifier: CC-BY-NC-4.0 -->\n")
    assert doc.metadata["license_flagged"] is True and doc.metadata["license_category"] == "non-commercial"


def test_drop_is_a_removed_record_with_the_license():
    options = license_options("{actions: {non-commercial: drop, copyleft: drop}}")
    assert options["actions"]["permissive"] == "keep"  # other categories keep the preset's action
    [out] = tag(options, "# SPDX-License-Identifier: CC-BY-NC-SA-4.0\n")
    assert out == Removed(id="s/1", source="s", sha256="ab" * 32, stage="license", reason="policy-non-commercial",
                          details={"license": "CC-BY-NC-SA-4.0"})
    [kept] = tag(options, "# SPDX-License-Identifier: MIT\n")
    assert isinstance(kept, Document) and kept.metadata["license"] == "MIT"


def test_bad_policy_options_name_the_key():
    with pytest.raises(RecipeError, match=r"stages.license.actions.copyleft: expected one of keep, flag, drop"):
        license_options("{actions: {copyleft: remove}}")
    with pytest.raises(RecipeError, match=r"stages.license.actions: unknown key 'copyleft-weak'"):
        license_options("{actions: {copyleft-weak: drop}}")
    with pytest.raises(RecipeError, match=r"stages.license.policy: no preset 'strict'"):
        license_options("{policy: strict}")


@pytest.mark.parametrize(("changed", "message"), [
    ({"rules": [{"match": "-NC(", "category": "non-commercial"}]}, r"license.rules\[0\].match: not a regular expression"),
    ({"rules": [{"match": "-NC", "category": "nc"}]}, r"license.rules\[0\].category: expected one of public-domain"),
    ({"licenses": {"LicenseRef-X": "free"}}, r"license.licenses.LicenseRef-X: expected one of"),
])
def test_bad_policy_presets_name_the_key(changed, message):
    with pytest.raises(ValueError, match=message):
        PolicyOptions.from_options({**license_options(), **changed})


def test_license_file_of_a_text_tree_is_recorded_by_its_licenses(tmp_path):
    (tmp_path / "tree" / "debian").mkdir(parents=True)
    (tmp_path / "tree" / "debian" / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 A\nLicense: Expat\n")
    recipe = with_license_trees(parse_recipe("name: c\ndate: 2026-11-01\nsources: [{name: t, uri: tree, format: text}]\n",
                                             base_dir=str(tmp_path)))
    [tree] = recipe.stage("license")["trees"]["t"]
    assert tree["file"] == "debian/copyright" and tree["kind"] == "dep5" and "text" not in tree
    assert tree["stanzas"] == [{"files": ["*"], "license": "Expat", "expression": "MIT", "line": 3}]
    tagger = LicenseTagger(LicenseOptions.from_options(recipe.stage("license")), {})
    tagger.setup()
    [doc] = tagger.process(Document(id="t/a.c", text="int x;", source="t", metadata={"path": "a.c"}))
    assert doc.metadata["license"] == "MIT" and doc.metadata["license_category"] == "permissive"


def test_license_file_key_is_checked(tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "COPYING").write_text("GNU GENERAL PUBLIC LICENSE\n")
    src = "name: c\ndate: 2026-11-01\nsources: [{name: t, uri: tree, format: text, license_file: %s}]\n"
    with pytest.raises(RecipeError, match=r"sources\[0\].license_file: no file .*tree/copyright"):
        with_license_trees(parse_recipe(src % "copyright", base_dir=str(tmp_path)))
    with pytest.raises(RecipeError, match=r"sources\[0\].license_file: .*COPYING is not a machine-readable \(DEP-5\)"):
        with_license_trees(parse_recipe(src % "COPYING", base_dir=str(tmp_path)))


def test_tagging_leaves_the_given_document_unchanged():
    """Beam forbids changing an element; the stage returns a new Document with its fields."""
    tagger = LicenseTagger(LicenseOptions.from_options(resolve_stage_options("license", {}, ".")), {})
    tagger.setup()
    doc = Document(id="s/x", text="SPDX-License-Identifier: MIT", source="s", metadata={"sha256": "ab" * 32})
    [out] = tagger.process(doc)
    assert doc.metadata == {"sha256": "ab" * 32}
    assert out.metadata["license"] == "MIT" and out.metadata["license_category"] == "permissive"
