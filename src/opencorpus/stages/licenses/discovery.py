"""The license files at the root of each text tree, read when a run is planned and recorded in the
license stage's options (`stages.license.trees`, so in the manifest): each by path and sha256 with
the licensing facts parsed from it (trees.py), never its text.

The stage then needs no storage access, and the manifest records exactly what each run applied to
paths (a file that changes between runs changes the recipe as run) without the copyright lines and
addresses those files hold. Every caller that needs the recipe as run (a run, a dry run,
reproduce's comparison with a manifest) takes it from `with_license_trees`.
"""

from __future__ import annotations

import dataclasses
import logging
import posixpath
from typing import Any

from opencorpus import storage
from opencorpus.recipe import Recipe, RecipeError, SourceSpec
from opencorpus.stages.licenses.trees import distribution, license_file

# Looked for at the root of a `text` tree when the source names no license_file.
TREE_LICENSE_FILES = ("debian/copyright", ".reuse/dep5", "REUSE.toml", "PKG-INFO")
# Installed distributions at the root of a text tree (site-packages): metadata, then file lists by preference.
DISTRIBUTION_FILES = {".dist-info": ("METADATA", ("RECORD",)),
                      ".egg-info": ("PKG-INFO", ("installed-files.txt", "SOURCES.txt"))}

log = logging.getLogger(__name__)


def with_license_trees(recipe: Recipe) -> Recipe:
    """The recipe with its license stage's `trees` recorded from its sources' license files (the
    recipe itself as it is when that stage is off). Every problem with a file a source names in
    `license_file`, or with one found that does not parse, is a RecipeError."""
    options = recipe.stage("license")
    if options is None:
        return recipe
    return dataclasses.replace(recipe, stages={**recipe.stages, "license": {**options, "trees": license_trees(recipe)}})


def license_trees(recipe: Recipe) -> dict[str, list[dict[str, Any]]]:
    """Per source with any: the recorded license files of its tree (text sources, and any source
    that names a `license_file`)."""
    trees = {}
    for i, source in enumerate(recipe.sources):
        if source.format != "text" and not source.license_file:
            continue
        root = recipe.source_uri(source)
        if storage.is_glob(root):  # its matches' paths are relative to its fixed prefix (storage.expand)
            root = storage.glob_root(root)
        found = _tree_license_files(root, source, f"{recipe.path}: sources[{i}]")
        if not source.license_file:
            found += _distributions(root, f"{recipe.path}: sources[{i}] ({root})")
        if found:
            trees[source.name] = found
    return trees


def _tree_license_files(root: str, source: SourceSpec, where: str) -> list[dict[str, Any]]:
    """The recorded license files of one tree: the one its `license_file` names (every problem with
    it an error), else those of TREE_LICENSE_FILES that exist (a file outside the tree skipped)."""
    named = source.license_file
    found = []
    for name in [named] if named else TREE_LICENSE_FILES:
        if named and not _under_root(name):
            raise RecipeError(f"{where}.license_file: {name} is not under the source root {root}")
        url = storage.join(root, name)
        if not storage.exists(url):
            if named:
                raise RecipeError(f"{where}.license_file: no file {url}")
            continue
        if why := _outside(root, url):
            if named:
                raise RecipeError(f"{where}.license_file: {name} {why} {root}")
            log.warning("%s (%s): %s %s; not read", where, root, name, why)
            continue
        try:
            entry = license_file(name, storage.read_bytes(url))
        except ValueError as e:  # Dep5Error, ReuseTomlError: stop here rather than every worker mid-run
            raise RecipeError(f"{where} ({root}): {e}") from None
        if entry is None and named:
            raise RecipeError(f"{where}.license_file: {url} is not a machine-readable "
                              "(DEP-5) copyright file: it has no 'Format:' header")
        found += [entry] if entry else []
    return found


def _under_root(name: str) -> bool:
    """Whether a relative path stays under the folder it is taken from (no `..` past it, not absolute)."""
    path = posixpath.normpath(name)
    return not posixpath.isabs(path) and path != ".." and not path.startswith("../")


def _outside(root: str, url: str) -> str | None:
    """Why a file under the tree root is not the tree's to read (storage.input_refusal: a link to a
    file elsewhere, a credentials file say, or no regular file), or None."""
    refusal = storage.input_refusal(url, root)
    if refusal is None:
        return None
    reason, detail = refusal
    return "resolves outside the source root" if reason == "outside-root" else detail


def _distributions(root: str, where: str) -> list[dict[str, Any]]:
    """The metadata and file list of each distribution installed at the tree's root (one listing of
    the root, one of each `*.dist-info`/`*.egg-info` folder: cheap on big trees), sorted by folder;
    one whose files resolve outside the tree is skipped."""
    found = []
    for folder in storage.list_dir(root):
        suffix = next((s for s in DISTRIBUTION_FILES if folder.endswith(s)), None)
        if suffix is None:
            continue
        metadata, lists = DISTRIBUTION_FILES[suffix]
        names = set(storage.list_dir(storage.join(root, folder)))
        listing = next((n for n in lists if n in names), None)
        if metadata not in names or listing is None:
            continue
        meta_file, record_file = f"{folder}/{metadata}", f"{folder}/{listing}"
        refused = [f"{f} {why}" for f in (meta_file, record_file) if (why := _outside(root, storage.join(root, f)))]
        if refused:
            log.warning("%s: %s; not read", where, " and ".join(refused))
            continue
        found.append(distribution(meta_file, storage.read_bytes(storage.join(root, meta_file)),
                                  record_file, storage.read_bytes(storage.join(root, record_file))))
    return found
