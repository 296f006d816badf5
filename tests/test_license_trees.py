"""License files of source trees: REUSE.toml (REUSE spec 3.2) by path and precedence, and the
installed distributions of a site-packages tree (METADATA applied to the files its RECORD lists)."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from opencorpus.document import Document
from opencorpus.recipe import Recipe, RecipeError, parse_recipe
from opencorpus.stages.license import NOASSERTION, LicenseOptions, LicenseTagger
from opencorpus.stages.licenses.discovery import with_license_trees
from opencorpus.stages.licenses.pymeta import distribution_files
from opencorpus.stages.licenses.reuse_toml import ReuseTomlError, evidence_for_path, parse_reuse_toml

DATA = Path(__file__).parent / "data"
REUSE_TREE = DATA / "reuse-tree"
SITE_PACKAGES = DATA / "site-packages-tree"
RECIPE = "name: c\ndate: 2026-11-01\nsources: [{name: t, uri: %s, format: text%s}]\n"


def recipe_as_run(text: str, base_dir: Path) -> Recipe:
    """The recipe as a run records it: its trees' license files read when the run is planned."""
    return with_license_trees(parse_recipe(text, base_dir=str(base_dir)))


def tagger_for(tree: Path, license_file: str = "") -> LicenseTagger:
    extra = f", license_file: {license_file}" if license_file else ""
    recipe = recipe_as_run(RECIPE % (tree.name, extra), tree.parent)
    tagger = LicenseTagger(LicenseOptions.from_options(recipe.stage("license")), {})
    tagger.setup()
    return tagger


def tag(tagger: LicenseTagger, path: str, text: str = "no license words here\n") -> dict:
    [doc] = tagger.process(Document(id=f"t/{path}", text=text, source="t", metadata={"path": path}))
    return doc.metadata


@pytest.fixture(scope="module")
def reuse():
    return tagger_for(REUSE_TREE)


def test_reuse_toml_at_the_tree_root_is_recorded_and_applied_by_path(reuse):
    [tree] = reuse.options.trees["t"]
    assert tree["file"] == "REUSE.toml" and tree["kind"] == "reuse-toml"
    assert tree["sha256"] == hashlib.sha256((REUSE_TREE / "REUSE.toml").read_bytes()).hexdigest()
    assert tree["annotations"][0] == {"path": ["po/*.po", "po/*.pot"], "precedence": "aggregate",
                                      "SPDX-License-Identifier": "GPL-3.0-or-later"}
    assert tree["annotations"][-1]["SPDX-License-Identifier"] is None  # copyright only: still the last match
    assert "SPDX-FileCopyrightText" not in json.dumps(tree) and "jane@example.com" not in json.dumps(tree)
    meta = tag(reuse, "po/de.po")  # the spec's own example table
    assert meta["license"] == "GPL-3.0-or-later"
    [ev] = meta["license_evidence"]
    assert ev["method"] == "reuse-toml" and ev["where"] == "REUSE.toml: annotations[1]" and ev["confidence"] == 1.0
    assert "po/*.po" in ev["matched"]


def test_reuse_toml_globs_star_stays_in_a_folder_double_star_crosses():
    tables = parse_reuse_toml((REUSE_TREE / "REUSE.toml").read_text("utf-8"))
    expression = lambda path: (evidence_for_path(tables, path, "REUSE.toml") or {}).get("expression")  # noqa: E731
    assert expression("po/fr.pot") == "GPL-3.0-or-later"
    assert expression("po/old/fr.po") is None  # `*` does not cross `/`
    assert expression("doc/a/b/index.md") == "CC-BY-SA-4.0"
    assert expression("NOTICE") == expression("src/x/NOTICE") == "CC0-1.0 AND LicenseRef-Trademark-Notice"
    assert expression("src/NOTICE.txt") is None
    assert expression("images/logo.png") is None  # `\\*` is a literal asterisk
    # The last matching table is the one used, even one that states copyright only.
    assert expression("doc/legal/terms.md") == "CC0-1.0 AND LicenseRef-Trademark-Notice"
    assert expression("images/*.png") is None


def test_reuse_toml_of_a_subfolder_covers_only_that_folder():
    tables = parse_reuse_toml('version = 1\n[[annotations]]\npath = "**"\nSPDX-License-Identifier = "MIT"\n',
                              "vendor/lib/REUSE.toml")
    assert evidence_for_path(tables, "vendor/lib/a/b.c", "vendor/lib/REUSE.toml")["expression"] == "MIT"
    assert evidence_for_path(tables, "src/b.c", "vendor/lib/REUSE.toml") is None


def test_reuse_toml_closest_is_a_fallback_to_the_files_own_tag(reuse):
    assert tag(reuse, "doc/guide.md")["license"] == "CC-BY-SA-4.0"
    meta = tag(reuse, "doc/guide.md", "<!-- SPDX-License-Identifier: MIT -->\n# Guide\n")
    assert meta["license"] == "MIT"
    [table] = [e for e in meta["license_evidence"] if e["method"] == "reuse-toml"]
    assert table["precedence"] == "closest" and table["conflict"] is True and meta["license_conflict"] is True


def test_reuse_toml_aggregate_applies_together_with_the_files_tag(reuse):
    meta = tag(reuse, "po/de.po", "# SPDX-License-Identifier: MIT\nmsgid \"\"\n")
    assert meta["license"] == "GPL-3.0-or-later AND MIT" and "license_conflict" not in meta


def test_reuse_toml_override_beats_the_files_tag(reuse):
    meta = tag(reuse, "doc/legal/terms.md", "<!-- SPDX-License-Identifier: MIT -->\nTerms\n")
    assert meta["license"] == "CC0-1.0 AND LicenseRef-Trademark-Notice"
    [own] = [e for e in meta["license_evidence"] if e["method"] == "spdx-identifier"]
    assert own["conflict"] is True and meta["license_conflict"] is True


@pytest.mark.parametrize("text,error", [
    ("version = 1\n[[annotations]\n", r"REUSE.toml: not valid TOML"),
    ('version = 2\n[[annotations]]\npath = "*"\n', r"REUSE.toml: version: expected 1"),
    ('version = 1\n[[annotations]]\npath = "*"\nSPDX-License-Identifier = "Frobnicate-1.0"\n',
     r"REUSE.toml: annotations\[1\].SPDX-License-Identifier: not a valid SPDX expression .*Frobnicate-1.0"),
    ('version = 1\n[[annotations]]\nSPDX-License-Identifier = "MIT"\n', r"REUSE.toml: annotations\[1\]: missing 'path'"),
    ('version = 1\n[[annotations]]\npath = "*"\nprecedence = "strongest"\n',
     r"REUSE.toml: annotations\[1\].precedence: expected one of closest"),
])
def test_bad_reuse_toml_is_a_recipe_error_naming_the_file(tmp_path, text, error):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "REUSE.toml").write_text(text)
    with pytest.raises(RecipeError, match=r"sources\[0\] \(.*tree\): " + error):
        recipe_as_run(RECIPE % ("tree", ""), tmp_path)
    with pytest.raises(ReuseTomlError, match=error):
        parse_reuse_toml(text)


def test_reuse_toml_as_license_file_is_read_relative_to_its_folder(tmp_path):
    shutil.copytree(REUSE_TREE, tmp_path / "tree" / "third_party")
    tagger = tagger_for(tmp_path / "tree", license_file="third_party/REUSE.toml")
    assert tag(tagger, "third_party/po/de.po")["license"] == "GPL-3.0-or-later"
    assert tag(tagger, "po/de.po")["license"] == NOASSERTION


@pytest.fixture(scope="module")
def site_packages():
    return tagger_for(SITE_PACKAGES)


def test_each_installed_distribution_licenses_the_files_its_record_lists(site_packages):
    trees = site_packages.options.trees["t"]
    assert [(t["file"], t["kind"], t["record"]["file"]) for t in trees] == [
        ("idna-3.20.dist-info/METADATA", "python-distribution", "idna-3.20.dist-info/RECORD"),
        ("mdurl-0.1.2.dist-info/METADATA", "python-distribution", "mdurl-0.1.2.dist-info/RECORD")]
    # The record's tree paths only (no hashes; `../../../bin/idna` is not in the tree), no metadata text.
    assert trees[0]["record"]["paths"] == ["idna-3.20.dist-info/METADATA", "idna-3.20.dist-info/RECORD",
                                           "idna/__init__.py", "idna/__pycache__/__init__.cpython-311.pyc",
                                           "idna/package_data.py"]
    assert "sha256=" not in json.dumps(trees) and "Author-email" not in json.dumps(trees)
    for path in ("idna/__init__.py", "idna/package_data.py", "mdurl/__init__.py", "mdurl/_url.py"):
        meta = tag(site_packages, path, (SITE_PACKAGES / path).read_text("utf-8"))
        [ev] = [e for e in meta["license_evidence"] if e["method"] == "python-metadata"]
        if path.startswith("idna/"):  # License-Expression (core metadata 2.4)
            assert meta["license"] == "BSD-3-Clause" and ev["where"] == "idna-3.20.dist-info/METADATA"
            assert ev["matched"] == "License-Expression: BSD-3-Clause"
        else:  # a trove classifier
            assert meta["license"] == "MIT" and ev["where"] == "mdurl-0.1.2.dist-info/METADATA"
            assert ev["matched"] == "Classifier: License :: OSI Approved :: MIT License"


def test_files_no_record_lists_get_no_distribution_license(site_packages):
    for path in ("sitecustomize.py", "idna/codec.py", "bin/idna", "../../../bin/idna"):
        meta = tag(site_packages, path)
        assert meta["license"] == NOASSERTION and meta["license_evidence"] == [], path


def test_installation_records_are_read_relative_to_where_they_point():
    record = "six.py,sha256=x,1\n../../../bin/six,sha256=y,2\n__pycache__/six.cpython-311.pyc,,\n\n"
    assert distribution_files(record, "six-1.17.0.dist-info/RECORD") == {"six.py", "__pycache__/six.cpython-311.pyc"}
    installed = "../foo/__init__.py\n../foo/core.py\nPKG-INFO\n../../../../bin/foo\n"
    assert distribution_files(installed, "foo-1.0.egg-info/installed-files.txt") == {
        "foo/__init__.py", "foo/core.py", "foo-1.0.egg-info/PKG-INFO"}


def _tagged_by_path(tmp_path: Path, uri: str) -> dict[str, dict]:
    """path -> license fields of every file a `text` source with this uri reads (under tmp_path)."""
    from opencorpus.sources import read_source_file, source_files

    recipe = recipe_as_run(RECIPE % (uri, ""), tmp_path)
    tagger = LicenseTagger(LicenseOptions.from_options(recipe.stage("license")), {})
    tagger.setup()
    [spec] = recipe.sources
    fields = {}
    for file in source_files(spec, str(tmp_path / uri), str(tmp_path)):
        for doc in read_source_file(spec, file, recipe.date):
            [tagged] = tagger.process(doc)
            fields[doc.metadata["path"]] = {k: v for k, v in tagged.metadata.items() if k.startswith("license")}
    return fields


def test_a_glob_finds_the_license_files_at_its_fixed_prefix_as_the_folder_does(tmp_path):
    """`tree/**` and `tree/**/*.c` read debian/copyright at `tree/`, as `tree/` does: same license fields."""
    tree = tmp_path / "tree"
    (tree / "debian").mkdir(parents=True)
    shutil.copy(DATA / "licenses" / "libzstd.copyright", tree / "debian" / "copyright")
    for line in (DATA / "licenses" / "libzstd-files.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        (tree / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        (tree / row["path"]).write_text(row["text"], "utf-8")
    folder = _tagged_by_path(tmp_path, "tree/")
    assert all(any(e["method"] == "dep5" for e in f["license_evidence"]) for f in folder.values())
    every = _tagged_by_path(tmp_path, "tree/**")
    assert {path: every[path] for path in folder} == folder
    c_files = _tagged_by_path(tmp_path, "tree/**/*.c")
    assert c_files and {path: folder[path] for path in c_files} == c_files
