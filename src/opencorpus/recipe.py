"""Recipe schema, validation and resolution.

A recipe (pipelines/*.yaml) is a public contract: it is validated completely before any
work starts, every error names the key and what was expected, and the resolved form
(defaults filled in, preset files inlined) is what the manifest records.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opencorpus import storage
from opencorpus.spdx import parse_spdx

SOURCE_KINDS = ("text", "code", "web")
SOURCE_FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet", "text", "warc", "html")
# Stage keys in pipeline order; each maps option -> default. A stage is on unless `false`.
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    # policy: filters/licenses/<name>.yaml (inlined; `actions` override single categories); trees: filled when
    # a run is planned with the facts parsed from the DEP-5/REUSE/PKG-INFO files and installed distributions
    # of text trees, never their text (stages/licenses/discovery.py).
    "license": {"policy": "default", "trees": {}},
    # keep: null keeps every language, else a list of language codes (py3langid's ISO 639-1).
    "language": {"keep": None},
    # presets: source kind -> filters/quality/<name>.yaml (or a .yaml path), inlined on resolution.
    "quality": {"presets": {"text": "off", "code": "code", "web": "web"}},
    "dedup": {},
    # bands/rows: null derives them from threshold and num_perm (see _lsh_shape).
    "near_dedup": {"ngram": 5, "num_perm": 112, "threshold": 0.8, "bands": None, "rows": None, "rounds": 8,
                   "verify": True, "survivor": "smallest-hash", "seed": 0},
    "pii": {"settings": "default"},
}
# Per stage, the option that names its preset file, filters/<folder>/<name>.yaml, inlined on resolution.
PRESET_OPTIONS = {"pii": ("settings", "pii"), "license": ("policy", "licenses")}
# License policy categories, least to most restrictive, and what a policy may do with each.
LICENSE_CATEGORIES = ("public-domain", "permissive", "weak-copyleft", "copyleft", "non-commercial",
                      "no-derivatives", "proprietary", "unknown")
LICENSE_ACTIONS = ("keep", "flag", "drop")
TOKENIZER_KEYS = ("path", "vocab", "merges", "train", "eos", "bos", "formats", "order")
TRAIN_DEFAULTS = {"vocab_size": 32000, "min_frequency": 2, "sample_size": 10000, "special_tokens": []}
DEFAULT_EOS = "<|endoftext|>"
# On-disk token layouts: Megatron .bin/.idx, datatrove .ds/.ds.index/.ds.metadata and OLMo/Dolma
# tokens/olmo/ .npy/.csv.gz (same token bytes).
TOKEN_FORMATS = ("megatron", "datatrove", "olmo")
ORDER_UNITS = ("document", "window")
ORDER_DEFAULTS = {"unit": "document", "window_tokens": 2048}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*$", re.IGNORECASE)
# A recipe is a page of YAML; a larger file is a mistake (or an attack), refused before parsing.
MAX_RECIPE_BYTES = 1_000_000
_SIZE_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6,
               "G": 10**9, "GB": 10**9, "T": 10**12, "TB": 10**12}
FILTERS_DIR = Path(__file__).resolve().parent / "filters"
if not FILTERS_DIR.is_dir():  # editable install: the repo's top-level filters/
    FILTERS_DIR = Path(__file__).resolve().parents[2] / "filters"


class RecipeError(ValueError):
    """A recipe that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class SourceSpec:
    name: str
    uri: str
    kind: str = "text"
    format: str = "jsonl"
    text_field: str = "text"
    id_field: str = "id"
    license: str | None = None
    created_field: str | None = None
    url_field: str | None = None
    base_url: str | None = None  # html sources: a page's URL is base_url + its relative path
    license_file: str | None = None  # DEP-5 copyright file, REUSE.toml or PKG-INFO, relative to the source root
    # Larger documents go to the dead letters at ingest instead of stalling later stages.
    max_document_bytes: int = 16_000_000
    # A source that may match no file (e.g. a glob for files that come and go); otherwise that is an error.
    optional: bool = False


@dataclass
class Recipe:
    name: str
    date: str
    sources: list[SourceSpec]
    stages: dict[str, dict[str, Any] | None]
    tokenizer: dict[str, Any] | None
    output: dict[str, Any]
    version: str | None = None
    seed: int = 0
    previous: str | None = None  # the version an incremental run builds on, as written (see beam/previous.py)
    base_dir: str = "."
    text: str = ""
    path: str = ""

    def stage(self, key: str) -> dict[str, Any] | None:
        """The resolved options of a stage, or None when it is off."""
        return self.stages.get(key)

    def source_uri(self, source: SourceSpec) -> str:
        """The source's URI, relative ones taken from the recipe's folder."""
        return source.uri if storage.is_absolute(source.uri) else storage.join(self.base_dir, source.uri)

    def previous_url(self) -> str | None:
        """The previous version's URL, a relative one taken from the recipe's folder."""
        if self.previous is None or storage.is_absolute(self.previous):
            return self.previous
        return storage.join(self.base_dir, self.previous)

    def resolved(self) -> dict[str, Any]:
        """The recipe as run, with nothing that depends on where it runs or writes.

        The output URI is left out (it goes to run.json) so that two runs of one recipe
        into two folders record the same manifest.
        """
        resolved = {
            "name": self.name,
            "version": self.version,
            "date": self.date,
            "seed": self.seed,
            "sources": [dict(vars(s)) for s in self.sources],
            "stages": {k: (copy.deepcopy(v) if v is not None else False) for k, v in self.stages.items()},
            "tokenizer": copy.deepcopy(self.tokenizer) if self.tokenizer is not None else False,
            "output": {k: v for k, v in self.output.items() if k != "uri"},
        }
        if self.previous is not None:
            resolved["previous"] = self.previous
        return resolved


def parse_size(value: Any, where: str) -> int:
    """'256MB' / '1.5GB' / 1000 -> bytes (decimal units)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = _SIZE.match(str(value))
    if not m or m.group(2).upper() not in _SIZE_UNITS:
        raise RecipeError(f"{where}: expected a size such as 256MB, got {value!r}")
    size = int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()])
    if size <= 0:
        raise RecipeError(f"{where}: size must be positive, got {value!r}")
    return size


def _check_keys(mapping: Any, allowed: tuple[str, ...] | list[str], where: str, required: tuple[str, ...] = ()) -> dict:
    if not isinstance(mapping, dict):
        raise RecipeError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (expected one of: {', '.join(allowed)})"
            raise RecipeError(f"{where}: unknown key '{key}'{hint}")
    for key in required:
        if key not in mapping:
            raise RecipeError(f"{where}: missing required key '{key}'")
    return mapping


def _expect(value: Any, types: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, types) or isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise RecipeError(f"{where}: expected {what}, got {value!r}")
    return value


def _spdx(value: Any, where: str) -> str:
    _expect(value, str, where, "an SPDX license expression")
    expression, problem = parse_spdx(value)
    if expression is None:
        raise RecipeError(f"{where}: not a valid SPDX expression {value!r}: {problem}")
    return expression


def _source(raw: Any, where: str) -> SourceSpec:
    allowed = tuple(SourceSpec.__dataclass_fields__)
    raw = _check_keys(raw, allowed, where, required=("name", "uri"))
    name = _expect(raw["name"], str, f"{where}.name", "a name of letters, digits, '.', '_' or '-'")
    if not _NAME.match(name):
        raise RecipeError(f"{where}.name: expected letters, digits, '.', '_' or '-', got {name!r}")
    uri = _expect(raw["uri"], str, f"{where}.uri", "a path, URL or glob")
    kind = raw.get("kind", "text")
    if kind not in SOURCE_KINDS:
        raise RecipeError(f"{where}.kind: expected one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    fmt = raw.get("format") or next((f for f in ("jsonl.zst", "jsonl.gz", "jsonl", "parquet") if uri.endswith("." + f)), None)
    if fmt not in SOURCE_FORMATS:
        raise RecipeError(f"{where}.format: expected one of {', '.join(SOURCE_FORMATS)}, got {fmt!r}")
    fields = {}
    for key in ("text_field", "id_field", "created_field", "url_field", "base_url"):
        if key in raw:
            fields[key] = _expect(raw[key], str, f"{where}.{key}", "a field name")
    if "max_document_bytes" in raw:
        fields["max_document_bytes"] = parse_size(raw["max_document_bytes"], f"{where}.max_document_bytes")
    license = _spdx(raw["license"], f"{where}.license") if raw.get("license") is not None else None
    if "optional" in raw:
        fields["optional"] = _expect(raw["optional"], bool, f"{where}.optional", "true or false")
    if "license_file" in raw:
        fields["license_file"] = _expect(raw["license_file"], str, f"{where}.license_file", "a path under the source root")
    return SourceSpec(name=name, uri=uri, kind=kind, format=fmt, license=license, **fields)


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: `*a` repeating an anchor is how a few hundred bytes expand to
    gigabytes ("billion laughs") once walked, and a recipe has no need for it."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed; write the value out",
                                       problem_mark=mark)
        return super().compose_node(parent, index)


def load_yaml(data: str | bytes, where: str) -> Any:
    """Parse recipe or preset YAML; any problem (syntax, aliases, nesting too deep) is a RecipeError."""
    try:
        return yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, ValueError) as e:  # ValueError: e.g. a date like 2026-13-01
        raise RecipeError(f"{where}: not valid YAML: {e}") from None
    except RecursionError:
        raise RecipeError(f"{where}: not valid YAML: nested too deeply") from None


def _load_preset(folder: str, name: str, base_dir: str, where: str) -> dict[str, Any]:
    """A preset by name (filters/<folder>/<name>.yaml) or by path relative to the recipe."""
    _expect(name, str, where, "a preset name or a .yaml path")
    candidates = []
    if name.endswith((".yaml", ".yml")):
        candidates.append(name if storage.is_absolute(name) else storage.join(base_dir, name))
    else:
        candidates.append(str(FILTERS_DIR / folder / f"{name}.yaml"))
    for url in candidates:
        if storage.exists(url):
            data = load_yaml(storage.read_bytes(url), f"{where}: preset {url}") or {}
            if not isinstance(data, dict):
                raise RecipeError(f"{where}: preset {url} must be a mapping")
            return data
    known = sorted(p.stem for p in (FILTERS_DIR / folder).glob("*.yaml"))
    raise RecipeError(f"{where}: no preset {name!r} (known: {', '.join(known) or 'none'}; or give a .yaml path)")


def _stages(raw: Any, base_dir: str, where: str) -> dict[str, dict[str, Any] | None]:
    raw = _check_keys(raw if raw is not None else {}, tuple(STAGE_DEFAULTS), where)
    stages: dict[str, dict[str, Any] | None] = {}
    for key in STAGE_DEFAULTS:
        written = raw.get(key, True)
        stages[key] = None if written is False else resolve_stage_options(key, written, base_dir, f"{where}.{key}")
    near = stages["near_dedup"]
    if near and near["survivor"] == "most-permissive-license" and stages["license"] is None:
        raise RecipeError(f"{where}.near_dedup.survivor: most-permissive-license ranks the license stage's "
                          "categories, but the license stage is off; turn it on or use smallest-hash")
    return stages


def resolve_stage_options(name: str, written: Any = None, base_dir: str = ".", where: str | None = None) -> dict[str, Any]:
    """The options of a stage that is on, from what a recipe writes for it (`true`, null or a
    mapping), as the manifest records them: defaults filled in, the stage's preset inlined (once:
    its options class reads every key from here), checked. Tests and benchmarks that start from a
    few options resolve them with this too."""
    where = where or f"stages.{name}"
    written = _check_keys({} if written is True or written is None else written,
                          tuple(STAGE_DEFAULTS[name]) + _free_options(name), where)
    options = {**STAGE_DEFAULTS[name], **written}
    preset: dict[str, Any] = {}
    if name in PRESET_OPTIONS:
        options, preset = _with_preset(name, options, written, base_dir, where)
    if name == "license":
        return _license(options, preset, written, where)
    if name == "language":
        return _language(options, where)
    if name == "quality":
        return _quality(options, base_dir, where)
    if name == "near_dedup":
        return _near_dedup(options, where)
    return options


def _with_preset(name: str, options: dict[str, Any], written: dict[str, Any], base_dir: str,
                 where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the options with the stage's preset inlined under the recipe's own keys, the preset)."""
    option, folder = PRESET_OPTIONS[name]
    preset = _load_preset(folder, options[option], base_dir, f"{where}.{option}")
    overrides = {k: v for k, v in written.items() if k != option}
    return {option: options[option], **preset, **overrides}, preset


def _license(options: dict[str, Any], preset: dict[str, Any], written: dict[str, Any], where: str) -> dict[str, Any]:
    """The policy preset's actions with the recipe's per-category overrides on top, checked; `trees`
    left empty for the run's planning to fill (stages/licenses/discovery.py)."""
    if written.get("trees"):
        raise RecipeError(f"{where}.trees: filled in from the sources' license files, "
                          "not written by hand; name a file with a source's `license_file` instead")
    overrides = _check_keys(written.get("actions") or {}, LICENSE_CATEGORIES, f"{where}.actions")
    actions = {**_check_keys(preset.get("actions") or {}, LICENSE_CATEGORIES, f"{where}.policy"), **overrides}
    for category in LICENSE_CATEGORIES:
        if actions.get(category, "keep") not in LICENSE_ACTIONS:
            raise RecipeError(f"{where}.actions.{category}: expected one of {', '.join(LICENSE_ACTIONS)}, "
                              f"got {actions[category]!r}")
    return {**options, "actions": {c: actions.get(c, "keep") for c in LICENSE_CATEGORIES}, "trees": {}}


def _language(options: dict[str, Any], where: str) -> dict[str, Any]:
    keep = options["keep"]
    if keep is not None and (not isinstance(keep, list) or not keep or not all(isinstance(k, str) and k for k in keep)):
        raise RecipeError(f"{where}.keep: expected null (keep all) or a non-empty list of language codes, got {keep!r}")
    return {**options, "keep": sorted(set(keep)) if keep is not None else None}


def _quality(options: dict[str, Any], base_dir: str, where: str) -> dict[str, Any]:
    """Each kind's preset inlined (with its name), so the manifest records the thresholds used."""
    presets = _check_keys(options["presets"], SOURCE_KINDS, f"{where}.presets")
    resolved = {}
    for kind in SOURCE_KINDS:
        name = presets.get(kind, STAGE_DEFAULTS["quality"]["presets"][kind])
        if isinstance(name, dict):  # already resolved (a resolved recipe run again)
            resolved[kind] = name
            continue
        _expect(name, str, f"{where}.presets.{kind}", "a preset name or a .yaml path")
        preset = _load_preset("quality", name, base_dir, f"{where}.presets.{kind}")
        _check_keys(preset, ("filters", "other_languages"), f"{where}.presets.{kind} ({name})")
        resolved[kind] = {"name": name, "filters": preset.get("filters") or {},
                          "other_languages": preset.get("other_languages") or {}}
    return {**options, "presets": resolved}


def _lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm that make a pair AT the threshold a candidate
    with probability >= 0.95 and admit the fewest pairs below it (exact Jaccard removes those)."""
    below = [(i + 0.5) * threshold / 100 for i in range(100)]
    best = None
    for bands in range(1, num_perm + 1):
        rows = num_perm // bands
        if 1 - (1 - threshold**rows) ** bands >= 0.95:
            false_area = sum(1 - (1 - s**rows) ** bands for s in below)
            best = min(best or (false_area, bands, rows), (false_area, bands, rows))
    return (best[1], best[2]) if best else (num_perm, 1)


def _near_dedup(options: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("ngram", "num_perm", "rounds"):
        if not isinstance(options[key], int) or isinstance(options[key], bool) or options[key] < 1:
            raise RecipeError(f"{where}.{key}: expected a positive integer, got {options[key]!r}")
    for key in ("bands", "rows", "seed"):
        if options[key] is not None and (not isinstance(options[key], int) or isinstance(options[key], bool)
                                         or options[key] < (0 if key == "seed" else 1)):
            raise RecipeError(f"{where}.{key}: expected {'an integer >= 0' if key == 'seed' else 'a positive integer'}, "
                              f"got {options[key]!r}")
    threshold = options["threshold"]
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 < threshold <= 1:
        raise RecipeError(f"{where}.threshold: expected a Jaccard similarity in (0, 1], got {threshold!r}")
    _expect(options["verify"], bool, f"{where}.verify", "true or false")
    if options["survivor"] not in ("smallest-hash", "most-permissive-license"):
        raise RecipeError(f"{where}.survivor: expected smallest-hash or most-permissive-license, got {options['survivor']!r}")
    bands, rows, num_perm = options["bands"], options["rows"], options["num_perm"]
    if bands is None and rows is None:
        bands, rows = _lsh_shape(float(threshold), num_perm)
    bands = bands or max(num_perm // rows, 1)
    rows = rows or max(num_perm // bands, 1)
    # The resolved form records the signature length actually used.
    return {**options, "threshold": float(threshold), "bands": bands, "rows": rows, "num_perm": bands * rows}


def _free_options(stage: str) -> tuple[str, ...]:
    """Options a stage accepts beyond its defaults: keys of its preset may be overridden."""
    if stage not in PRESET_OPTIONS:
        return ()
    _, folder = PRESET_OPTIONS[stage]
    return tuple(sorted({k for p in (FILTERS_DIR / folder).glob("*.yaml") for k in (yaml.safe_load(p.read_text()) or {})}))


def _tokenizer(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is False:
        return None
    raw = _check_keys(raw, TOKENIZER_KEYS, where)
    kinds = [k for k in ("path", "vocab", "train") if k in raw]
    if len(kinds) != 1:
        raise RecipeError(f"{where}: expected exactly one of 'path' (tokenizer.json), 'vocab' + 'merges' "
                          f"(GPT-2 files) or 'train', got {kinds or 'none'}")
    if ("vocab" in raw) != ("merges" in raw):
        raise RecipeError(f"{where}: 'vocab' and 'merges' go together")
    out: dict[str, Any] = {"eos": raw.get("eos", DEFAULT_EOS), "bos": raw.get("bos")}
    # EOS is what separates documents in a token stream (Megatron, datatrove and OLMo readers rely on it).
    _expect(out["eos"], str, f"{where}.eos", "a token string (EOS ends every document)")
    if out["bos"] is not None:
        _expect(out["bos"], str, f"{where}.bos", "a token string or null")
    out["formats"] = _token_formats(raw.get("formats", ["megatron"]), f"{where}.formats")
    out["order"] = _order(raw.get("order") or {}, f"{where}.order")
    for key in ("path", "vocab", "merges"):
        if key in raw:
            out[key] = _expect(raw[key], str, f"{where}.{key}", "a path")
    if "train" in raw:
        train = {**TRAIN_DEFAULTS, **_check_keys(raw["train"] or {}, tuple(TRAIN_DEFAULTS), f"{where}.train")}
        for key in ("vocab_size", "min_frequency", "sample_size"):
            if not isinstance(train[key], int) or isinstance(train[key], bool) or train[key] < 1:
                raise RecipeError(f"{where}.train.{key}: expected a positive integer, got {train[key]!r}")
        if not isinstance(train["special_tokens"], list) or not all(isinstance(t, str) for t in train["special_tokens"]):
            raise RecipeError(f"{where}.train.special_tokens: expected a list of strings")
        out["train"] = train
    return out


def _token_formats(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise RecipeError(f"{where}: expected a non-empty list of {', '.join(TOKEN_FORMATS)}, got {raw!r}")
    for value in raw:
        if value not in TOKEN_FORMATS:
            raise RecipeError(f"{where}: unknown format {value!r} (expected one of: {', '.join(TOKEN_FORMATS)})")
    return [f for f in TOKEN_FORMATS if f in raw]  # canonical order: the resolved recipe is stable


def _order(raw: Any, where: str) -> dict[str, Any]:
    order = {**ORDER_DEFAULTS, **_check_keys(raw, tuple(ORDER_DEFAULTS), where)}
    if order["unit"] not in ORDER_UNITS:
        raise RecipeError(f"{where}.unit: expected one of {', '.join(ORDER_UNITS)}, got {order['unit']!r}")
    size = order["window_tokens"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise RecipeError(f"{where}.window_tokens: expected a positive integer, got {size!r}")
    return order


def _output(raw: Any, where: str) -> dict[str, Any]:
    raw = _check_keys(raw if raw is not None else {}, ("uri", "shards", "shard_bytes"), where)
    if "shards" in raw and "shard_bytes" in raw:
        raise RecipeError(f"{where}: give 'shards' or 'shard_bytes', not both")
    out: dict[str, Any] = {"uri": _expect(raw.get("uri", "./snapshots"), str, f"{where}.uri", "a path or URL")}
    if "shard_bytes" in raw:
        out["shard_bytes"] = parse_size(raw["shard_bytes"], f"{where}.shard_bytes")
    else:
        shards = raw.get("shards", 1)
        if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= 100000:
            raise RecipeError(f"{where}.shards: expected an integer from 1 to 100000, got {shards!r}")
        out["shards"] = shards
    return out


def parse_recipe(text: str, path: str = "<recipe>", base_dir: str = ".") -> Recipe:
    """Validate a recipe's YAML text completely; raise RecipeError naming the first problem."""
    raw = load_yaml(text, path)
    top = ("name", "version", "date", "seed", "previous", "sources", "stages", "tokenizer", "output")
    raw = _check_keys(raw, top, path, required=("name", "date", "sources"))
    name = _expect(raw["name"], str, f"{path}: name", "a corpus name")
    if not _NAME.match(name):
        raise RecipeError(f"{path}: name: expected letters, digits, '.', '_' or '-', got {name!r}")
    version = raw.get("version")
    if version is not None:
        version = str(version)
        if not _NAME.match(version):
            raise RecipeError(f"{path}: version: expected letters, digits, '.', '_' or '-', got {version!r}")
    date = raw["date"]
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            raise RecipeError(f"{path}: date: expected YYYY-MM-DD, got {date!r}") from None
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise RecipeError(f"{path}: date: expected YYYY-MM-DD, got {date!r}")
    seed = raw.get("seed", 0)
    _expect(seed, int, f"{path}: seed", "an integer")
    previous = raw.get("previous")
    if previous is not None:
        _expect(previous, str, f"{path}: previous", "the URL of a published version")
    sources_raw = _expect(raw["sources"], list, f"{path}: sources", "a list of sources")
    if not sources_raw:
        raise RecipeError(f"{path}: sources: expected at least one source")
    sources = [_source(s, f"{path}: sources[{i}]") for i, s in enumerate(sources_raw)]
    names = [s.name for s in sources]
    for n in names:
        if names.count(n) > 1:
            raise RecipeError(f"{path}: sources: the name {n!r} is used twice; source names must be unique")
    return Recipe(
        name=name,
        version=version,
        date=date.isoformat(),
        seed=seed,
        previous=previous,
        sources=sources,
        stages=_stages(raw.get("stages"), base_dir, f"{path}: stages"),
        tokenizer=_tokenizer(raw.get("tokenizer", {"train": {}}), f"{path}: tokenizer"),
        output=_output(raw.get("output"), f"{path}: output"),
        base_dir=base_dir,
        text=text,
        path=path,
    )


def load_recipe(url: str) -> Recipe:
    """Read and validate a recipe file; relative URIs in it are taken from its folder."""
    try:
        if not storage.exists(url):
            raise RecipeError(f"{url}: no such recipe file")
        with storage.open_url(url, "rb") as f:
            data = f.read(MAX_RECIPE_BYTES + 1)
    except RecipeError:
        raise
    except (OSError, ValueError) as e:  # ValueError: fsspec's "Protocol not known"
        raise RecipeError(f"{url}: cannot read the recipe: {e}") from None
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{url}: a recipe is at most {MAX_RECIPE_BYTES:,} bytes; this file is larger")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecipeError(f"{url}: not UTF-8 (invalid byte at offset {e.start}); save the recipe as UTF-8") from None
    base = url.rsplit("/", 1)[0] if "/" in url else "."
    if not storage.is_absolute(base):
        base = str(Path(base).resolve())
    return parse_recipe(text, path=url, base_dir=base)
