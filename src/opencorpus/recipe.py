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

SOURCE_KINDS = ("text", "code", "web")
SOURCE_FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet", "text")
# Stage keys in pipeline order; each maps option -> default. A stage is on unless `false`.
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "license": {},
    "dedup": {},
    "pii": {"settings": "default"},
}
# Stage options that name a preset file under filters/<folder>/<name>.yaml, inlined on resolution.
PRESET_OPTIONS = {("pii", "settings"): "pii"}
TOKENIZER_KEYS = ("path", "vocab", "merges", "train", "eos", "bos")
TRAIN_DEFAULTS = {"vocab_size": 32000, "min_frequency": 2, "sample_size": 10000, "special_tokens": []}
DEFAULT_EOS = "<|endoftext|>"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*$", re.IGNORECASE)
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
    # Larger documents go to the dead letters at ingest instead of stalling later stages.
    max_document_bytes: int = 16_000_000


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
    base_dir: str = "."
    text: str = ""
    path: str = ""

    def stage(self, key: str) -> dict[str, Any] | None:
        """The resolved options of a stage, or None when it is off."""
        return self.stages.get(key)

    def source_uri(self, source: SourceSpec) -> str:
        """The source's URI, relative ones taken from the recipe's folder."""
        return source.uri if storage.is_absolute(source.uri) else storage.join(self.base_dir, source.uri)

    def resolved(self) -> dict[str, Any]:
        """The recipe as run, with nothing that depends on where it runs or writes.

        The output URI is left out (it goes to run.json) so that two runs of one recipe
        into two folders record the same manifest.
        """
        return {
            "name": self.name,
            "version": self.version,
            "date": self.date,
            "seed": self.seed,
            "sources": [dict(vars(s)) for s in self.sources],
            "stages": {k: (copy.deepcopy(v) if v is not None else False) for k, v in self.stages.items()},
            "tokenizer": copy.deepcopy(self.tokenizer) if self.tokenizer is not None else False,
            "output": {k: v for k, v in self.output.items() if k != "uri"},
        }


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
    from license_expression import get_spdx_licensing

    _expect(value, str, where, "an SPDX license expression")
    info = get_spdx_licensing().validate(value)
    if info.errors:
        raise RecipeError(f"{where}: not a valid SPDX expression {value!r}: {'; '.join(info.errors)}")
    return info.normalized_expression


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
    for key in ("text_field", "id_field", "created_field", "url_field"):
        if key in raw:
            fields[key] = _expect(raw[key], str, f"{where}.{key}", "a field name")
    if "max_document_bytes" in raw:
        fields["max_document_bytes"] = parse_size(raw["max_document_bytes"], f"{where}.max_document_bytes")
    license = _spdx(raw["license"], f"{where}.license") if raw.get("license") is not None else None
    return SourceSpec(name=name, uri=uri, kind=kind, format=fmt, license=license, **fields)


def _load_preset(folder: str, name: str, base_dir: str, where: str) -> dict[str, Any]:
    """A preset by name (filters/<folder>/<name>.yaml) or by path relative to the recipe."""
    candidates = []
    if name.endswith((".yaml", ".yml")):
        candidates.append(name if storage.is_absolute(name) else storage.join(base_dir, name))
    else:
        candidates.append(str(FILTERS_DIR / folder / f"{name}.yaml"))
    for url in candidates:
        if storage.exists(url):
            data = yaml.safe_load(storage.read_bytes(url)) or {}
            if not isinstance(data, dict):
                raise RecipeError(f"{where}: preset {url} must be a mapping")
            return data
    known = sorted(p.stem for p in (FILTERS_DIR / folder).glob("*.yaml"))
    raise RecipeError(f"{where}: no preset {name!r} (known: {', '.join(known) or 'none'}; or give a .yaml path)")


def _stages(raw: Any, base_dir: str, where: str) -> dict[str, dict[str, Any] | None]:
    raw = _check_keys(raw if raw is not None else {}, tuple(STAGE_DEFAULTS), where)
    stages: dict[str, dict[str, Any] | None] = {}
    for key, defaults in STAGE_DEFAULTS.items():
        value = raw.get(key, True)
        if value is False:
            stages[key] = None
            continue
        if value is True or value is None:
            value = {}
        options = {**defaults, **_check_keys(value, tuple(defaults) + _free_options(key), f"{where}.{key}")}
        for (stage, option), folder in PRESET_OPTIONS.items():
            if stage == key and isinstance(options.get(option), str):
                preset = _load_preset(folder, options[option], base_dir, f"{where}.{key}.{option}")
                overrides = {k: v for k, v in value.items() if k != option}
                options = {option: options[option], **preset, **overrides}
        stages[key] = options
    return stages


def _free_options(stage: str) -> tuple[str, ...]:
    """Options a stage accepts beyond its defaults: keys of its preset may be overridden."""
    for (key, option), folder in PRESET_OPTIONS.items():
        if key == stage:
            return tuple(sorted({k for p in (FILTERS_DIR / folder).glob("*.yaml")
                                 for k in (yaml.safe_load(p.read_text()) or {})}))
    return ()


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
    for key in ("eos", "bos"):
        if out[key] is not None:
            _expect(out[key], str, f"{where}.{key}", "a token string or null")
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
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as e:  # ValueError: e.g. a date like 2026-13-01
        raise RecipeError(f"{path}: not valid YAML: {e}") from None
    top = ("name", "version", "date", "seed", "sources", "stages", "tokenizer", "output")
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
    if not storage.exists(url):
        raise RecipeError(f"{url}: no such recipe file")
    text = storage.read_bytes(url).decode("utf-8")
    base = url.rsplit("/", 1)[0] if "/" in url else "."
    if not storage.is_absolute(base):
        base = str(Path(base).resolve())
    return parse_recipe(text, path=url, base_dir=base)
