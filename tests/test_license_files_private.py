"""A text tree's license files reach the manifest (the resolved recipe's license stage options) as
path, sha256 and parsed licensing facts only: never their text, whose copyright lines and metadata
hold people's addresses; and a license file outside the tree (a symlink out, `..`) is never read."""

import hashlib
import json
import logging
import re
from pathlib import Path

import pytest

from opencorpus.document import Document
from opencorpus.recipe import RecipeError, load_recipe
from opencorpus.stages.license import LicenseOptions, LicenseTagger
from opencorpus.stages.licenses import dep5
from opencorpus.stages.licenses.discovery import with_license_trees

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
SECRET = "aws_secret_access_key = wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tool
Upstream-Contact: Jane Maintainer <jane.maintainer@example.org>

Files: *
Copyright: 2020-2024 Jane Maintainer <jane.maintainer@example.org>
License: Expat

Files: src/vendor/*
Copyright: 2019 Bob Vendor <bob@vendor.example>
           2021 Carol Helper <carol.helper@helpers.example>
License: BSD-3-clause
 Redistribution and use in source and binary forms, with or without modification, are permitted.

Files: debian/*
Copyright: 2024 Debian Packager <packager@debian.example>
License: GPL-2+

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software.
"""
PKG_INFO = """\
Metadata-Version: 2.1
Name: tool
Version: 1.0
Author: Jane Maintainer
Author-email: jane.maintainer@example.org
Maintainer-email: Dan Keeper <dan.keeper@example.net>
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
Description: A tool. Write to support@tool.example for help.
"""
METADATA = "Metadata-Version: 2.4\nName: dep\nAuthor-email: Erin <erin@dep.example>\nLicense-Expression: Apache-2.0\n"
RECORD = "dep/__init__.py,sha256=AAAA,10\ndep-2.0.dist-info/METADATA,sha256=BBBB,20\n../../../bin/dep,sha256=CCCC,30\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def recipe_for(tmp_path: Path, license_file: str = ""):
    extra = f", license_file: {license_file}" if license_file else ""
    url = write(tmp_path / "recipe.yaml",
                f"name: c\ndate: 2026-11-01\nsources: [{{name: t, uri: tree, format: text{extra}}}]\n")
    return with_license_trees(load_recipe(str(url)))  # as a run records it


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path / "tree" / "debian" / "copyright", COPYRIGHT)
    write(tmp_path / "tree" / "PKG-INFO", PKG_INFO)
    write(tmp_path / "tree" / "dep-2.0.dist-info" / "METADATA", METADATA)
    write(tmp_path / "tree" / "dep-2.0.dist-info" / "RECORD", RECORD)
    write(tmp_path / "tree" / "src" / "tool.c", "int main(void) { return 0; }\n")
    return tmp_path / "tree"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_records_license_files_by_path_sha256_and_parsed_licenses_only(tmp_path, tree):
    recipe = recipe_for(tmp_path)
    manifest = json.dumps(recipe.resolved())
    assert EMAIL.findall(manifest) == []
    for raw in ("Copyright", "Upstream-Contact", "Permission is hereby granted", "Redistribution", "Author",
                "Description", "Format:", "sha256=AAAA"):
        assert raw not in manifest, raw
    dep5, pkg_info, dist = recipe.resolved()["stages"]["license"]["trees"]["t"]
    assert dep5 == {"file": "debian/copyright", "kind": "dep5", "sha256": sha256(tree / "debian" / "copyright"),
                    "stanzas": [
                        {"files": ["*"], "license": "Expat", "expression": "MIT", "line": 5},
                        {"files": ["src/vendor/*"], "license": "BSD-3-clause", "expression": "BSD-3-Clause", "line": 9},
                        {"files": ["debian/*"], "license": "GPL-2+", "expression": "GPL-2.0-or-later", "line": 15}]}
    assert pkg_info == {"file": "PKG-INFO", "kind": "python-metadata", "sha256": sha256(tree / "PKG-INFO"),
                        "evidence": {"method": "python-metadata", "where": "PKG-INFO", "confidence": 0.9,
                                     "matched": "Classifier: License :: OSI Approved :: MIT License",
                                     "expression": "MIT"}}
    assert dist["evidence"]["expression"] == "Apache-2.0" and dist["sha256"] == sha256(tree / "dep-2.0.dist-info/METADATA")
    assert dist["record"] == {"file": "dep-2.0.dist-info/RECORD", "sha256": sha256(tree / "dep-2.0.dist-info/RECORD"),
                              "paths": ["dep-2.0.dist-info/METADATA", "dep/__init__.py"]}


def test_a_license_file_symlinked_out_of_the_tree_is_not_read(tmp_path, tree, caplog):
    secret = write(tmp_path / "home" / ".aws" / "credentials", f"[default]\n{SECRET}\nLicense: MIT\n")
    (tree / "PKG-INFO").unlink()
    (tree / "PKG-INFO").symlink_to(secret)
    (tree / "debian").rename(tmp_path / "elsewhere")
    (tree / "debian").symlink_to(tmp_path / "elsewhere")  # a folder on the way out counts as well
    outside = write(tmp_path / "other-site" / "dep-2.0.dist-info" / "METADATA", METADATA.replace("Apache-2.0", "MIT"))
    (tree / "dep-2.0.dist-info" / "METADATA").unlink()
    (tree / "dep-2.0.dist-info" / "METADATA").symlink_to(outside)
    with caplog.at_level(logging.WARNING, logger="opencorpus.stages.licenses.discovery"):
        recipe = recipe_for(tmp_path)
    manifest = json.dumps(recipe.resolved())
    assert "wJalrXUtnFEMI" not in manifest and "aws_secret" not in manifest
    assert recipe.stage("license")["trees"] == {}
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in ("PKG-INFO", "debian/copyright", "dep-2.0.dist-info/METADATA"):
        assert f"{name} " in warned and "outside the source root" in warned, name
    assert "wJalrXUtnFEMI" not in warned and str(secret) not in warned


@pytest.mark.parametrize("license_file,error", [
    ("PKG-INFO", r"sources\[0\].license_file: PKG-INFO resolves outside the source root"),
    ("../home/.aws/credentials", r"sources\[0\].license_file: ../home/.aws/credentials is not under the source root"),
    ("debian/../../home/.aws/credentials", r"sources\[0\].license_file: .* is not under the source root"),
])
def test_a_license_file_the_recipe_names_outside_the_tree_is_an_error(tmp_path, tree, license_file, error):
    secret = write(tmp_path / "home" / ".aws" / "credentials", f"[default]\n{SECRET}\n")
    (tree / "PKG-INFO").unlink()
    (tree / "PKG-INFO").symlink_to(secret)
    with pytest.raises(RecipeError, match=error):
        recipe_for(tmp_path, license_file)


def test_the_stage_applies_the_recorded_facts_as_it_applied_the_files(tmp_path, tree):
    tagger = LicenseTagger(LicenseOptions.from_options(recipe_for(tmp_path).stage("license")), {})
    tagger.setup()

    def tag(path: str) -> dict:
        [doc] = tagger.process(Document(id=f"t/{path}", text="int x;\n", source="t", metadata={"path": path}))
        return doc.metadata

    meta = tag("src/tool.c")
    assert meta["license"] == "MIT"
    assert meta["license_evidence"] == [
        {"method": "dep5", "where": "debian/copyright:5", "confidence": 1.0, "matched": "Files: *\nLicense: Expat",
         "expression": "MIT"},
        {"method": "python-metadata", "where": "PKG-INFO", "confidence": 0.9,
         "matched": "Classifier: License :: OSI Approved :: MIT License", "expression": "MIT"}]
    vendored = tag("src/vendor/lib.c")
    assert vendored["license"] == "BSD-3-Clause AND MIT" and "license_conflict" not in vendored
    assert vendored["license_evidence"][0]["matched"] == "Files: src/vendor/*\nLicense: BSD-3-clause"
    assert tag("dep/__init__.py")["license"] == "Apache-2.0 AND MIT"  # its distribution, the tree's DEP-5 and PKG-INFO
    # What the stage writes into documents names patterns and licenses, never copyright holders.
    evidence = json.dumps([tag(p)["license_evidence"] for p in ("src/tool.c", "src/vendor/lib.c", "debian/rules",
                                                               "dep/__init__.py")])
    assert EMAIL.findall(evidence) == [] and "Copyright" not in evidence


def test_a_malformed_dep5_file_stops_the_recipe_naming_the_file_and_line(tmp_path, tree):
    # Parsed at resolution now (only its facts are recorded), so it fails here, not in every worker mid-run.
    (tree / "debian" / "copyright").write_text(COPYRIGHT.replace("License: GPL-2+\n", ""))
    with pytest.raises(RecipeError, match=r"sources\[0\] \(.*tree\): debian/copyright: line 15: 'Files:' stanza without"):
        recipe_for(tmp_path)


def test_an_address_in_a_license_line_is_not_recorded():
    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            "Files: *\nCopyright: 2024 Jane <jane@example.org>\nLicense: Expat <jane@example.org>\n\n"
            "Files: b/*\nLicense: GPL-2+ jane@example.org\n")
    facts = dep5.to_facts(dep5.parse_dep5(text, "debian/copyright"))
    assert [(f["license"], f["expression"]) for f in facts] == [("Expat", "MIT"), ("GPL-2+", "GPL-2.0-or-later")]
    assert "@" not in json.dumps(facts)
