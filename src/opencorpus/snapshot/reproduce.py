"""Rebuild a published version from its manifest and compare every file (`opencorpus reproduce`).

The manifest records what a rebuild needs: the recipe (its text is `recipe.yaml`, which the
manifest hashes), every input file with its sha256, the tokenizer and the code and dependency
versions. A rebuild checks every input first, so an input that is missing or not the one that
was published is named before any work, then runs the recipe into a scratch root as `run
--no-cache` would (the caller's `rebuild`: the pipeline is not this module's business) and
compares the two versions file by file. Run facts (run.json) are never compared: they differ
between any two runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json
from opencorpus.recipe import Recipe, SourceSpec, parse_recipe
from opencorpus.snapshot.manifest import ManifestError, environment, read_manifest
from opencorpus.snapshot.takedown import Selector, locate, publish_takedown, taken_in
from opencorpus.snapshot.verify import resolve_snapshot
from opencorpus.sources import source_files
from opencorpus.stages.licenses.discovery import with_license_trees
from opencorpus.stages.tokenize import TokenizerError, load_tokenizer, tokenizer_bytes

# (recipe, scratch root) -> the URL of the version the rebuild published there.
Rebuild = Callable[[Recipe, str], str]
Digest = tuple[str, int]  # (sha256, bytes)
# The manifest's differences shown after a rebuild; the files that differ are all listed.
MAX_KEY_LINES = 20
SHOWN_VALUE_CHARS = 80


class SnapshotDamaged(RuntimeError):
    """The published manifest or recipe cannot be trusted, so there is nothing to rebuild from."""


class InputsDiffer(RuntimeError):
    """Inputs missing, changed or not in the manifest: a rebuild could not be identical, so none ran."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} input files are not the snapshot's; nothing was run")
        self.problems = problems


@dataclass(frozen=True)
class Published:
    """A published version as a rebuild reads it: its manifest (and digest) and recipe text."""

    url: str
    digest: str
    manifest: dict[str, Any]
    recipe_text: str


@dataclass
class Reproduction:
    """The rebuild compared with the published version."""

    published_url: str
    published_digest: str
    rebuilt_url: str
    rebuilt_digest: str
    files: int
    differences: list[str] = field(default_factory=list)
    kept: bool = False  # the rebuild is still there to look at (given --scratch, or it differs)

    @property
    def identical(self) -> bool:
        return self.published_digest == self.rebuilt_digest and not self.differences

    def report(self) -> list[str]:
        """The lines a user reads: each file that differs and why, then the verdict."""
        lines = [f"DIFFERS  {line}" for line in self.differences]
        if self.identical:
            lines.append(f"identical: {self.files} files rebuilt from the manifest; digest {self.published_digest}")
        else:
            lines.append(f"different: digest {self.published_digest} published, {self.rebuilt_digest} rebuilt")
        if self.kept:
            lines.append(f"the rebuild: {self.rebuilt_url}")
        return lines


@dataclass(frozen=True)
class _Found:
    """An input file as this machine has it, named as the run would record it."""

    path: str
    url: str
    sha256: str
    bytes: int


def reproduce(url: str, rebuild: Rebuild, inputs: str | None = None, scratch: str | None = None,
              say: Callable[[str], None] = print) -> Reproduction:
    """Rebuild the version at `url` (a version or a corpus root) and compare it with the published one.

    Relative source URIs are taken from `inputs` (default: inputs_root's). Environment and recipe
    differences are said up front as warnings; every input, and a tokenizer the recipe names, is
    checked before any work (raises InputsDiffer). The rebuild goes to `scratch`, or to a
    temporary root that is removed when the rebuild is identical. Raises verify.SnapshotNotFound,
    SnapshotDamaged and RecipeError before any work.
    """
    published = open_published(url)
    recipe = published_recipe(published, inputs_root(published, inputs))
    say(f"rebuilding {published.url} (digest {published.digest}); relative source URIs from {recipe.base_dir}")
    for line in environment_warnings(published.manifest) + recipe_warnings(published.manifest, recipe):
        say(f"warning: {line}")
    found = input_problems(recipe, published.manifest) + tokenizer_problems(recipe, published.manifest)
    if found:
        raise InputsDiffer(found)
    say(f"inputs: {len(published.manifest['inputs'])} files, each with the sha256 the manifest records")
    return _rebuild_and_compare(published, recipe, rebuild, scratch, say)


def open_published(url: str) -> Published:
    """The version's manifest and its recipe.yaml, which must have the sha256 the manifest lists:
    the recipe is the one file a rebuild takes from the snapshot itself."""
    version_url = resolve_snapshot(url)
    try:
        data, manifest = read_manifest(version_url)
    except ManifestError as e:
        raise SnapshotDamaged(str(e)) from None
    recipe_url = storage.join(version_url, layout.RECIPE)
    listed = _listed(manifest).get(layout.RECIPE)
    if listed is None or not storage.exists(recipe_url):
        raise SnapshotDamaged(f"{recipe_url}: missing from the {'folder' if listed else 'manifest'}; "
                              "there is no recipe to rebuild from")
    recipe_bytes = storage.read_bytes(recipe_url)
    actual = (hashlib.sha256(recipe_bytes).hexdigest(), len(recipe_bytes))
    if actual != listed:
        raise SnapshotDamaged(f"{recipe_url}: {_show_digest(actual)}, the manifest lists {_show_digest(listed)}: "
                              "changed after publishing; there is no recipe to rebuild from")
    return Published(version_url, hashlib.sha256(data).hexdigest(), manifest, recipe_bytes.decode("utf-8"))


def inputs_root(published: Published, inputs: str | None) -> str:
    """Where relative source URIs are taken from (the recipe's folder, as a run takes them): `inputs`;
    else the folder of the recipe the version was run from when it exists here (run.json's
    `recipe_path`, a relative one taken from the current folder); else the current folder.

    run.json is not covered by the manifest; it is only a hint, as every input is checked by sha256.
    """
    if inputs is not None:
        return _absolute(inputs)
    return _recorded_recipe_folder(published.url) or _absolute(".")


def published_recipe(published: Published, base_dir: str) -> Recipe:
    """The version's recipe, resolved with `base_dir` as its folder, with the name of the version
    the recipe made (the manifest records it, so a rebuild under any other name could not be
    identical): the version itself, or for one a takedown made, the version the first takedown
    started from (the takedowns are replayed on the rebuild, see replay_takedowns)."""
    recipe = parse_recipe(published.recipe_text, path=storage.join(published.url, layout.RECIPE), base_dir=base_dir)
    takedowns = published.manifest.get("takedowns") or []
    recipe.version = takedowns[0]["previous"] if takedowns else published.manifest["version"]
    return with_license_trees(recipe)  # as a run records it, for recipe_warnings to compare


def replay_takedowns(published: Published, rebuilt_url: str, say: Callable[[str], None]) -> str:
    """The published version's takedowns, in order, on the rebuild: each removes the documents its
    records in the published removed/ name, under the same request, reason and version name.
    Returns the last version's URL (the rebuild itself when there were none)."""
    for record in published.manifest.get("takedowns") or []:
        hashes = taken_in(published.url, record["request"], record["version"])
        located = locate(rebuilt_url, Selector(hashes=frozenset(hashes)))
        rebuilt_url, _, taken = publish_takedown(rebuilt_url, record["version"], located, record["reason"],
                                                 record["request"], {"reproduce": published.url})
        say(f"replayed takedown {record['request']}: {len(taken)} documents -> {rebuilt_url}")
    return rebuilt_url


def environment_warnings(manifest: dict[str, Any]) -> list[str]:
    """Each code or dependency version here that is not the manifest's: not fatal (most changes
    change nothing), but the first suspect when the rebuild differs."""
    code, dependencies = environment(manifest["recipe"])
    here = _as_json({"code": code, "dependencies": dependencies})
    return [f"{where}: {_show(now)} here, {_show(then)} in the manifest (a different package version)"
            for where, then, now in _differences({key: manifest[key] for key in here}, here)]


def recipe_warnings(manifest: dict[str, Any], recipe: Recipe) -> list[str]:
    """Each key where the recipe resolves here otherwise than the manifest records (a preset file or
    a source tree's license file that changed): the rebuild's manifest will differ there."""
    return [f"recipe.{where}: {_show(now)} here, {_show(then)} in the manifest"
            for where, then, now in _differences(manifest["recipe"], _as_json(recipe.resolved()))]


def input_problems(recipe: Recipe, manifest: dict[str, Any]) -> list[str]:
    """Every manifest input missing here or with another sha256, and every file a source lists here
    that the manifest does not: one line each, naming the source, the file and the sha256s.

    Files are matched by path and sha256, then by sha256 alone (with PII on, a file's name may be
    recorded redacted), then by path (the file changed).
    """
    expected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in manifest["inputs"]:
        expected[entry["source"]].append(entry)
    lines = []
    for spec in recipe.sources:
        found, why_not = _found_inputs(recipe, spec)
        missing, found = _pair(expected[spec.name], found, lambda e: (e["path"], e["sha256"]), lambda f: (f.path, f.sha256))[:2]
        missing, found = _pair(missing, found, lambda e: e["sha256"], lambda f: f.sha256)[:2]
        missing, unexpected, changed = _pair(missing, found, lambda e: e["path"], lambda f: f.path)
        note = f"; {why_not}" if why_not else ""
        lines += [f"missing input: source {spec.name}: {e['path']}: {_show_digest(_digest(e))} not found; "
                  f"looked for {_expected_url(recipe, e['path'])}{note}" for e in sorted(missing, key=_path)]
        lines += [f"changed input: source {spec.name}: {e['path']}: {_show_digest((f.sha256, f.bytes))} at {f.url}, "
                  f"the manifest records {_show_digest(_digest(e))}" for e, f in sorted(changed, key=lambda p: _path(p[0]))]
        lines += [f"unexpected input: source {spec.name}: {f.path}: {_show_digest((f.sha256, f.bytes))} at {f.url} "
                  "is not in the manifest" for f in sorted(unexpected, key=lambda f: f.path)]
    return lines


def tokenizer_problems(recipe: Recipe, manifest: dict[str, Any]) -> list[str]:
    """A tokenizer the recipe names is an input too: loaded here, it must have the sha256 the manifest
    records of the one the version used. A trained one is trained again, from the inputs."""
    config = recipe.tokenizer
    if config is None or "train" in config:
        return []
    try:
        sha256 = hashlib.sha256(tokenizer_bytes(load_tokenizer(config, recipe.base_dir))).hexdigest()
    except TokenizerError as e:  # names the file and why
        return [f"unusable tokenizer: {e}"]
    recorded = manifest["tokenizer"]["sha256"]
    if sha256 == recorded:
        return []
    return [f"changed input: tokenizer {config.get('path') or config['vocab']}: sha256 {sha256} as loaded here "
            f"from {recipe.base_dir}, the manifest records {recorded}"]


def compare(published: Published, rebuilt_url: str) -> Reproduction:
    """Every file of the two versions, three ways: what the published manifest lists, what the
    published folder holds now and what the rebuild made; then the manifests' other differences."""
    data = storage.read_bytes(storage.join(rebuilt_url, layout.MANIFEST))
    rebuilt = json.loads(data)
    listed, now, remade = _listed(published.manifest), _present(published.url), _listed(rebuilt)
    result = Reproduction(published.url, published.digest, rebuilt_url, hashlib.sha256(data).hexdigest(),
                          files=len(listed))
    for path in sorted(set(listed) | set(now) | set(remade)):
        why = _why(listed.get(path), now.get(path), remade.get(path))
        if why is not None:
            result.differences.append(f"{path}: {why}")
    result.differences += _manifest_differences(published.manifest, rebuilt)
    return result


def _rebuild_and_compare(published: Published, recipe: Recipe, rebuild: Rebuild, scratch: str | None,
                         say: Callable[[str], None]) -> Reproduction:
    """The rebuild into `scratch`, else into a temporary root that is removed unless the rebuild
    differs (then it is kept for a look, and named)."""
    temporary = scratch is None
    root = tempfile.mkdtemp(prefix="opencorpus-reproduce-") if scratch is None else scratch
    keep = not temporary
    try:
        result = compare(published, replay_takedowns(published, rebuild(recipe, root), say))
        keep = keep or not result.identical
        result.kept = keep
        return result
    finally:
        if not keep:
            storage.remove_tree(root)


def _found_inputs(recipe: Recipe, spec: SourceSpec) -> tuple[list[_Found], str | None]:
    """The source's files as the run records them (hashed, named relative to the recipe's folder),
    or none and why its URI cannot be listed. Files the readers refuse (a link out of the tree, a
    FIFO) are not hashed here, as the run does not hash them: their dead letters record them."""
    uri = recipe.source_uri(spec)
    try:
        storage.check_reachable(uri)
        files = source_files(spec, uri, recipe.base_dir)
    except (OSError, ValueError, ImportError) as e:  # StoreError, fsspec's unknown protocol, a missing filesystem
        return [], f"cannot list {uri}: {e}"
    found = []
    for file in files:
        if storage.input_refusal(file.url, file.root) is None:
            sha256, size = storage.file_digest(file.url)
            found.append(_Found(file.display, file.url, sha256, size))
    return found, None


def _pair(expected: list[dict[str, Any]], found: list[_Found], expected_key: Callable[[dict[str, Any]], Any],
          found_key: Callable[[_Found], Any]) -> tuple[list[dict[str, Any]], list[_Found], list[tuple[dict[str, Any], _Found]]]:
    """(expected left, found left, pairs): each found file paired with an expected one of the same key."""
    pool: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for entry in expected:
        pool[expected_key(entry)].append(entry)
    pairs, unpaired = [], []
    for file in found:
        bucket = pool.get(found_key(file))
        if bucket:
            pairs.append((bucket.pop(0), file))
        else:
            unpaired.append(file)
    return [entry for bucket in pool.values() for entry in bucket], unpaired, pairs


def _why(listed: Digest | None, now: Digest | None, remade: Digest | None) -> str | None:
    """Why a file is not the same in the published manifest, the published folder and the rebuild; None if it is."""
    if listed == now == remade:
        return None
    if listed is None:
        where = "the rebuild" if now is None else "the published folder" if remade is None else "both folders"
        return f"not in the published manifest; in {where}"
    if now is None:
        return "in the published manifest, missing from the published folder" + (
            "" if remade is None else f"; the rebuild has {_show_digest(remade)}")
    if remade is None:
        return "in the published manifest, not in the rebuild"
    if remade == listed:
        return (f"changed after publishing: the published file has {_show_digest(now)}; "
                f"its manifest and the rebuild have {_show_digest(listed)}")
    if now == listed:
        return f"rebuilt differently: {_show_digest(remade)} rebuilt, {_show_digest(listed)} published"
    return (f"the published file has {_show_digest(now)}, its manifest {_show_digest(listed)}, "
            f"the rebuild {_show_digest(remade)}")


def _manifest_differences(published: dict[str, Any], rebuilt: dict[str, Any]) -> list[str]:
    """What else the two manifests record differently (counts, dependencies, the recipe...): why the
    digests differ beyond the files, listed above one by one."""
    found = _differences({k: v for k, v in published.items() if k != "files"},
                         {k: v for k, v in rebuilt.items() if k != "files"})
    lines = [f"{layout.MANIFEST}: {where}: {_show(a)} published, {_show(b)} rebuilt"
             for where, a, b in itertools.islice(found, MAX_KEY_LINES)]
    more = sum(1 for _ in found)
    return lines + ([f"{layout.MANIFEST}: … {more} more differences"] if more else [])


class _Absent:
    """A key one side of a comparison does not have (None is a value)."""

    def __repr__(self) -> str:
        return "absent"


ABSENT = _Absent()


def _differences(a: Any, b: Any, where: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted key, a's value, b's value) for each place where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from _differences(a.get(key, ABSENT), b.get(key, ABSENT), f"{where}.{key}" if where else key)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _differences(x, y, f"{where}[{i}]")
    elif a != b:
        yield where, a, b


def _show(value: Any) -> str:
    text = repr(value) if value is ABSENT else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[:SHOWN_VALUE_CHARS - 1] + "…"


def _show_digest(digest: Digest) -> str:
    return f"sha256 {digest[0]} ({digest[1]:,} bytes)"


def _as_json(value: Any) -> Any:
    """`value` as the manifest's JSON holds it (tuples as lists...), so that only real differences show."""
    return json.loads(canonical_json(value))


def _digest(entry: dict[str, Any]) -> Digest:
    return entry["sha256"], entry["bytes"]


def _path(entry: dict[str, Any]) -> str:
    return entry["path"]


def _listed(manifest: dict[str, Any]) -> dict[str, Digest]:
    return {entry["path"]: _digest(entry) for entry in manifest["files"]}


def _present(version_url: str) -> dict[str, Digest]:
    """Every file of a version folder as it is now (those the manifest never lists aside), hashed."""
    return {path: storage.file_digest(storage.join(version_url, path))
            for path in storage.list_files(version_url) if path not in layout.UNLISTED}


def _expected_url(recipe: Recipe, path: str) -> str:
    """Where the run read an input the manifest names by `path` (relative to the recipe's folder when it could be)."""
    return path if storage.is_absolute(path) else storage.join(recipe.base_dir, path)


def _recorded_recipe_folder(version_url: str) -> str | None:
    """The folder of the recipe run.json says the version was run from, if it is a folder here."""
    try:
        run = json.loads(storage.read_bytes(storage.join(version_url, layout.RUN)))
    except (OSError, ValueError):  # no run.json (a mirror may leave it out), or not JSON
        return None
    recipe_path = run.get("recipe_path") if isinstance(run, dict) else None
    if not isinstance(recipe_path, str):
        return None
    folder = _absolute(recipe_path.rsplit("/", 1)[0] if "/" in recipe_path else ".")
    try:
        return folder if storage.is_dir(folder) else None
    except (OSError, ValueError, ImportError):  # a store that does not answer, an unknown protocol
        return None


def _absolute(url: str) -> str:
    """A URL as is, a local path absolute and resolved (as load_recipe makes a recipe's folder)."""
    if storage.is_absolute(url):
        return url.rstrip("/") or "/"
    return str(Path(url).resolve())
