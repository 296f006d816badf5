"""README.md: the snapshot's Hugging Face dataset card, made from its manifest and stats.

The front matter is what the Hub and `datasets.load_dataset` read (licenses, languages, size, where
the documents are and their columns); the body answers a reader's questions with the numbers the run
recorded: what is in the snapshot, under which licenses, what was removed and why, how to check it,
how to rebuild it, how to find a document in it and how to have one taken out.

A card does not know where its snapshot is published (the manifest holds only relative paths), so
commands name the version folder `<snapshot>`. Every string that comes from the data (corpus and
source names, licenses, paths, recipe values) goes through `text()`, which keeps Markdown and HTML
in it from doing anything; commands hold no data at all. The Markdown helpers here are public: the
training-content summary (content_summary.py) is written with them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from opencorpus.recipe import STAGE_DEFAULTS

# Where the documents are (layout.documents_part), as a glob for the Hub and `datasets`.
DOCUMENTS_GLOB = "documents/*.jsonl.zst"
# The documents' columns for `datasets`. `added`, `created` and `metadata` are declared `json`
# because its JSON Lines reader (pyarrow) turns date-like strings into timestamps ("2026-11-01" ->
# 2026-11-01 00:00:00) and would make one struct of metadata's varying keys; as JSON they load
# exactly as the files hold them.
FEATURES = [
    {"name": "id", "dtype": "string"},
    {"name": "text", "dtype": "string"},
    {"name": "source", "dtype": "string"},
    {"name": "added", "dtype": "json"},
    {"name": "created", "dtype": "json"},
    {"name": "metadata", "dtype": "json"},
]
# The Hub's license ids (https://huggingface.co/docs/hub/repositories-licenses) that are the
# lowercase SPDX id.
HUB_LICENSES = frozenset({
    "afl-3.0", "apache-2.0", "artistic-2.0", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "bsl-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cc-by-nd-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc0-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "cdla-sharing-1.0",
    "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "isc", "lppl-1.3c", "mit", "mpl-2.0", "ms-pl",
    "ncsa", "ofl-1.1", "osl-3.0", "postgresql", "unlicense", "wtfpl", "zlib",
})
# SPDX ids the Hub names otherwise: GNU licenses without -only/-or-later, Open Data Commons ones by family.
HUB_ALIASES = {
    "agpl-3.0-only": "agpl-3.0", "agpl-3.0-or-later": "agpl-3.0", "gpl-2.0-only": "gpl-2.0",
    "gpl-2.0-or-later": "gpl-2.0", "gpl-3.0-only": "gpl-3.0", "gpl-3.0-or-later": "gpl-3.0",
    "lgpl-2.1-only": "lgpl-2.1", "lgpl-2.1-or-later": "lgpl-2.1", "lgpl-3.0-only": "lgpl-3.0",
    "lgpl-3.0-or-later": "lgpl-3.0", "odbl-1.0": "odbl", "odc-by-1.0": "odc-by", "pddl-1.0": "pddl",
}
# Other versions and variants go under the Hub's family ids.
HUB_FAMILIES = (("gpl-", "gpl"), ("lgpl-", "lgpl"), ("gfdl-", "gfdl"), ("bsd-", "bsd"), ("cc-", "cc"))
# What the Hub's `license: other` stands for here: the documents' own SPDX expressions, listed in the card.
OTHER_LICENSE_NAME = "per-document-spdx"
NO_LICENSE = "NOASSERTION"
# The Hub's size_categories buckets, by number of documents.
SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T")
# Language codes that name no language: undetermined, no linguistic content, multiple, uncoded.
NOT_LANGUAGES = frozenset({"und", "zxx", "mul", "mis"})
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
# What each stage's removals mean; a stage not listed here is shown by name only.
REMOVAL_STAGES = {
    "ingest": "records that could not be read (malformed JSON, invalid UTF-8, too large, ...)",
    "extract": "HTML pages with no main text after extraction",
    "license": "the license policy drops documents of this license category (`policy-<category>`)",
    "language": "language not among the recipe's `keep` languages (`not-kept:<code>`)",
    "quality": "quality filters chosen by the source's kind (`<filter>:<reason>`)",
    "dedup": "exact duplicates of a published document's canonical text; the smallest id survives and lists "
             "its copies in `metadata.duplicates` (`already-published`: a copy of a document the previous "
             "version published)",
    "near_dedup": "near duplicates (MinHash LSH, then an exact Jaccard check); one document per cluster survives",
    "pii": "documents the PII stage could not process",
    "takedown": "removal requests (`opencorpus takedown`)",
}
FILE_GROUPS = {
    "documents": "the documents, JSON Lines compressed with zstd",
    "tokens": "token shards and the training order",
    "removed": "every removed document: hash, id, stage, reason (no text)",
    "dead_letter": "every record that could not be read or processed: where and why (no text)",
    "index": "the lookup index by canonical sha256 and by URL",
    "tokenizer": "the tokenizer",
    "recipe.yaml": "the recipe as written",
    "stats.json": "every count on this card",
}
TOKEN_FORMATS = {
    "megatron": "Megatron-LM indexed dataset (`tokens/part-NNNNN.bin`, `.idx`; `.csv.gz` maps token ranges to "
                "documents)",
    "datatrove": "datatrove (`tokens/part-NNNNN.ds`, `.ds.index`, `.ds.metadata`)",
    "olmo": "OLMo/Dolma (`tokens/olmo/part-NNNNN.npy`, `.csv.gz`)",
}
TOKENIZER_ORIGINS = {"train": "trained on a seeded sample of this corpus", "path": "loaded from a tokenizer.json",
                     "gpt2": "GPT-2's vocabulary and merges"}
SNAPSHOT_NOTE = ("`<snapshot>` stands for the URL or path of this version folder wherever it is published "
                 "(a local folder, `s3://...`, `gs://...`); this file is made from the snapshot's manifest, which "
                 "does not say where that is.")
# Characters with Markdown meaning inside a line (`\|` is also how a GFM table cell holds a pipe, `\#`
# keeps a heading's text from closing it); an underscore between letters or digits cannot start or end
# emphasis, so snake_case stays readable.
_MARKDOWN_INLINE = re.compile(r"([\\`*\[\]|~$#]|(?<![^\W_])_|_(?![^\W_]))")
_CODE_SAFE = re.compile(r"[A-Za-z0-9._:/@+=,-]+")


# ---- Markdown ---------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A value from the data as one line of inert Markdown: line breaks and control characters become
    one space, HTML is entity-escaped, Markdown punctuation backslash-escaped (pipes too, for tables)."""
    line = " ".join("".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(value)).split())
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_INLINE.sub(r"\\\1", line)


def number(n: int | float) -> str:
    return f"{n:,}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> str:
    """A GFM table; `align` has one letter per column, 'l' or 'r' (default 'l'). Cells must be
    Markdown already (data through `text()`)."""
    marks = ["---:" if align[i:i + 1] == "r" else "---" for i in range(len(header))]
    lines = [header, marks, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def section(level: int, title: str, *blocks: str) -> str:
    return "\n\n".join(["#" * level + " " + title, *(b for b in blocks if b)])


def code_block(lines: Sequence[str], language: str = "sh") -> str:
    """A fenced block of fixed text (never data: a fence in it would end the block)."""
    return "\n".join([f"```{language}", *lines, "```"])


def code(value: Any) -> str:
    """A value from the data as inline code when it is a plain token (a hash, a path, a stage name);
    anything else as `text()`, since a code span shows backslash escapes as they are."""
    value = str(value)
    return f"`{value}`" if _CODE_SAFE.fullmatch(value) else text(value)


def options(values: Mapping[str, Any]) -> str:
    """Recipe options as `key=value, ...`, values in JSON, escaped."""
    return ", ".join(f"{text(k)}={text(v if isinstance(v, str) else json.dumps(v, sort_keys=True))}"
                     for k, v in sorted(values.items()))


def plural(n: int, word: str) -> str:
    return f"{number(n)} {word}{'' if n == 1 else 's'}"


# ---- facts ------------------------------------------------------------------------------------


def total(by_stage: Mapping[str, Mapping[str, int]]) -> int:
    """Documents removed (or dead-lettered) over every stage and reason."""
    return sum(n for reasons in by_stage.values() for n in reasons.values())


def by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Non-zero counts, largest first, then by name: a takedown can leave a license at 0."""
    return sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: (-kv[1], kv[0]))


def stage_order(stages: Iterable[str]) -> list[str]:
    """Stages in pipeline order; any other (ingest, extract, takedown, ...) first or last by name."""
    order = ["ingest", "extract", *STAGE_DEFAULTS, "takedown"]
    return sorted(stages, key=lambda s: (order.index(s) if s in order else len(order), s))


def sources_of(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(manifest.get("recipe", {}).get("sources") or [])


def stage_options(manifest: Mapping[str, Any], stage: str) -> dict[str, Any] | None:
    """A stage's resolved options, or None when the recipe turned it off."""
    settings = manifest.get("recipe", {}).get("stages", {}).get(stage)
    return settings if isinstance(settings, dict) else None


def hub_license(expression: str) -> str:
    """The Hub's id for one SPDX license: its own, its family's, `unknown` for NOASSERTION, else `other`
    (an expression with OR/AND/WITH, a LicenseRef-, an id the Hub does not list)."""
    if expression == NO_LICENSE:
        return "unknown"
    spdx = expression.strip().lower()
    if spdx in HUB_LICENSES:
        return spdx
    if spdx in HUB_ALIASES:
        return HUB_ALIASES[spdx]
    if re.fullmatch(r"[a-z0-9.+-]+", spdx):  # one id: a family never stands for an expression
        return next((hub for prefix, hub in HUB_FAMILIES if spdx.startswith(prefix)), "other")
    return "other"


def size_category(documents: int) -> str:
    """The bucket by number of digits: 1K<n<10K holds 1,000 to 9,999."""
    bucket = max(len(str(documents)) - 3, 0)
    return SIZE_CATEGORIES[bucket] if bucket < len(SIZE_CATEGORIES) else "n>1T"


def language_codes(stats: Mapping[str, Any]) -> list[str]:
    """ISO 639 codes of the published documents' languages, most documents first."""
    by_language = stats.get("documents", {}).get("by_language", {})
    return [language for language, _ in by_count(by_language)
            if LANGUAGE_CODE.match(language) and language not in NOT_LANGUAGES]


# ---- the card ---------------------------------------------------------------------------------


def render(manifest: dict[str, Any], stats: dict[str, Any]) -> bytes:
    """The card's UTF-8 bytes: the same for the same manifest and stats."""
    body = "\n\n".join(build(manifest, stats) for build in SECTIONS)
    return f"---\n{front_matter(manifest, stats)}---\n\n{body}\n".encode()


def front_matter(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    """The YAML metadata the Hub reads (https://huggingface.co/docs/hub/datasets-cards)."""
    licenses = sorted({hub_license(spdx) for spdx, _ in by_count(manifest.get("licenses", {}))})
    kinds = sorted({str(s.get("kind")) for s in sources_of(manifest)} & {"text", "code", "web"})
    metadata: dict[str, Any] = {
        "pretty_name": " ".join(f"{manifest.get('corpus', '')} {manifest.get('version', '')}".split()),
        "task_categories": ["text-generation"],
        "task_ids": ["language-modeling"],
        "size_categories": [size_category(manifest["counts"]["output"])],
        "tags": ["opencorpus", *kinds],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": DOCUMENTS_GLOB}]}],
        "dataset_info": {"features": FEATURES},
    }
    if licenses:
        metadata["license"] = licenses
    if "other" in licenses:
        metadata.update(license_name=OTHER_LICENSE_NAME, license_link="README.md")
    if spoken := language_codes(stats):
        metadata["language"] = spoken
    return yaml.safe_dump(metadata, sort_keys=True, allow_unicode=True, default_flow_style=False)


def summary(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    counts = manifest["counts"]
    removed, dead = total(counts["removed"]), total(counts["dead_letter"])
    tokens = manifest.get("tokens")
    characters = stats.get("documents", {}).get("characters")
    size = [plural(counts["output"], "document")]
    size += [plural(tokens["total"], "token")] if tokens else []
    size += [plural(characters, "character")] if characters is not None else []
    return section(
        1, f"{text(manifest.get('corpus', ''))} {text(manifest.get('version', ''))}",
        f"Version {text(manifest.get('version', ''))} of the corpus {text(manifest.get('corpus', ''))}, dated "
        f"{text(manifest.get('date', ''))}, curated with opencorpus "
        f"{text(manifest.get('code', {}).get('opencorpus', ''))}: {', '.join(size)} from "
        f"{plural(len(manifest.get('sources', {})), 'source')}. Of {plural(counts['input'], 'document')} read, "
        f"{number(removed)} were removed (every reason is [below](#what-was-removed-and-why)) and "
        f"{number(dead)} could not be read ([dead letters](#dead-letters)). Every number on this card comes "
        "from the snapshot's `manifest.json` and `stats.json`.",
        SNAPSHOT_NOTE,
    )


def loading(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    return section(
        2, "Loading",
        code_block(['from datasets import load_dataset', '',
                    'documents = load_dataset("<snapshot>", split="train")  # a local folder or a Hub dataset id'],
                   "python"),
        "One JSON object per line in `documents/part-NNNNN.jsonl.zst` (Dolma's layout): `id` "
        "(`<source>/<id in the source>`), `text`, `source`, `added` (the snapshot date), `created` (when the "
        "source says), and `metadata`: `license` (SPDX, or NOASSERTION when none was found), "
        "`license_category`, `license_evidence` (how and where it was found), `language`, `language_score`, "
        "`pii` (values redacted, by type), `sha256` (canonical hash of the original text), "
        "`sha256_published` (of the text as published) and `duplicates` (ids of the exact copies removed).",
    )


def files(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    groups: dict[str, list[int]] = {}
    for entry in manifest.get("files", []):
        top, folder, _ = entry["path"].partition("/")
        groups.setdefault(top + folder, []).append(entry["bytes"])
    rows = [[code(group), number(len(sizes)), number(sum(sizes)), FILE_GROUPS.get(group.rstrip("/"), "")]
            for group, sizes in sorted(groups.items())]
    return section(
        2, "Files",
        table(["Path", "Files", "Bytes", "What"], rows, "lrrl"),
        "`manifest.json` lists every file with its sha256 and size; its own sha256 is the snapshot digest. "
        "This card, `croissant.json`, `card.html` and `training-content-summary.md` are made from it.",
    )


def sources(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    counts, tokens = manifest.get("sources", {}), (manifest.get("tokens") or {}).get("by_source", {})
    specs = {str(s.get("name")): s for s in sources_of(manifest)}
    rows = [[text(name), text(specs.get(name, {}).get("kind", "")), text(specs.get(name, {}).get("format", "")),
             text(specs.get(name, {}).get("license") or "none"), number(c.get("input", 0)), number(c.get("output", 0)),
             number(tokens.get(name, 0))] for name, c in sorted(counts.items())]
    inputs = [[text(i["source"]), text(i["path"]), number(i["bytes"]), code(i["sha256"])]
              for i in manifest.get("inputs", [])]
    return section(
        2, "Sources",
        table(["Source", "Kind", "Format", "Declared license", "Read", "Published", "Tokens"], rows, "llllrrr")
        if rows else "No source contributed documents.",
        "Every input file, as the recipe named it (relative paths are taken from the recipe's folder), with "
        "the sha256 a rebuild checks:",
        table(["Source", "Path", "Bytes", "sha256"], inputs, "llrl") if inputs else "No input files.",
    )


def licenses(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    tokens = manifest.get("tokens") or {}
    by_license, token_by_license = manifest.get("licenses", {}), tokens.get("by_license", {})
    rows = [[text(spdx), number(n), number(token_by_license.get(spdx, 0))] for spdx, n in by_count(by_license)]
    policy = stage_options(manifest, "license")
    categories = stats.get("documents", {}).get("by_license_category", {})
    category_rows = [[text(c), text((policy or {}).get("actions", {}).get(c, "")), number(n),
                      number(tokens.get("by_license_category", {}).get(c, 0))] for c, n in by_count(categories)]
    unasserted = by_license.get(NO_LICENSE, 0)
    return section(
        2, "Licenses",
        "Each document's license is detected from its own text and the source's license files (SPDX "
        "identifiers, license texts and notices, DEP-5/REUSE files, package metadata, page markup), the "
        "source's declared license last; `metadata.license_evidence` says how. "
        + (f"{plural(unasserted, 'document')} carry `NOASSERTION`: no license was found for them. "
           if unasserted else "")
        + ("The Hub's `license: other` stands for the expressions below that it has no id for."
           if any(hub_license(s) == "other" for s, _ in by_count(by_license)) else ""),
        (f"License policy `{text(policy.get('policy', ''))}`: each license's category and what the policy did "
         "with it (keep; flag: kept with `metadata.license_flagged`; drop: listed in `removed/`)."
         if policy else "No license policy ran (the license stage is off)."),
        table(["Category", "Action", "Documents", "Tokens"], category_rows, "llrr") if category_rows else "",
        table(["License (SPDX)", "Documents", "Tokens"], rows, "lrr") if rows else "No documents, so no licenses.",
    )


def languages(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    documents = stats.get("documents", {})
    rows = [[text(language), number(n)] for language, n in by_count(documents.get("by_language", {}))]
    lengths = sorted(((int(b), n) for b, n in documents.get("by_length", {}).items() if n and b.isdigit()))
    length_rows = [[f"{number(lower)} to {number(max(2 * lower - 1, 0))}", number(n)] for lower, n in lengths]
    return section(
        2, "Languages and lengths",
        ("Published documents by detected language (ISO 639; `und`: undetermined, `zxx`: no linguistic content):"
         if rows else "No language was recorded (the language stage is off, or no document was published)."),
        table(["Language", "Documents"], rows, "lr") if rows else "",
        "Published documents by length in characters:" if length_rows else "",
        table(["Characters", "Documents"], length_rows, "lr") if length_rows else "",
    )


def processing(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    rows = [[code(stage), stage_summary(stage, stage_options(manifest, stage))]
            for stage in STAGE_DEFAULTS]
    return section(
        2, "Processing",
        "The stages in the order they ran, with the recipe's resolved options (`recipe` in `manifest.json` "
        "has all of them; `recipe.yaml` is the recipe as written):",
        table(["Stage", "Options"], rows),
        quality_filters(manifest),
    )


def stage_summary(stage: str, settings: Mapping[str, Any] | None) -> str:
    """One cell: what a stage was set to do; the long options (license trees, quality presets) elsewhere."""
    if settings is None:
        return "off"
    if stage == "license":
        return f"policy {text(settings.get('policy', ''))}; actions: {options(settings.get('actions', {}))}"
    if stage == "quality":
        return "presets by source kind, below"
    if stage == "pii":
        shown = {k: v for k, v in settings.items() if k in ("settings", "nlp_model", "score_threshold", "language")}
        return f"{options(shown)}; entities: {', '.join(text(e) for e in settings.get('entities') or []) or 'none'}"
    if stage == "language":
        keep = settings.get("keep")
        return "keep every language" if keep is None else "keep: " + ", ".join(text(k) for k in keep)
    return options(settings) or "on"


def quality_filters(manifest: Mapping[str, Any]) -> str:
    presets = (stage_options(manifest, "quality") or {}).get("presets", {})
    kinds = sorted({str(s.get("kind")) for s in sources_of(manifest)})
    rows = []
    for kind in kinds:
        preset = presets.get(kind) or {}
        filters = preset.get("filters") or {}
        described = "; ".join(text(name) + (f" ({options(opts)})" if opts else "")
                              for name, opts in sorted(filters.items())) or "none"
        rows.append([text(kind), text(preset.get("name", "")), described])
    return ("Quality filters for the kinds of this snapshot's sources (datatrove's Gopher, C4 and FineWeb "
            "filters; removals are `quality/<filter>:<reason>`):\n\n"
            + table(["Source kind", "Preset", "Filters (options)"], rows)) if rows and presets else ""


def removals(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    removed = manifest["counts"]["removed"]
    rows = [[code(stage), text(reason), number(n)]
            for stage in stage_order(removed) for reason, n in sorted(removed[stage].items())]
    meanings = [f"- {code(stage)}: {REMOVAL_STAGES[stage]}" for stage in stage_order(removed)
                if stage in REMOVAL_STAGES]
    return section(
        2, "What was removed and why",
        (f"{plural(total(removed), 'document')} of {number(manifest['counts']['input'])} read were removed. "
         "Each one is listed in `removed/part-NNNNN.jsonl.zst` with its canonical hash, id, stage and reason "
         "(never its text).") if rows else "No document was removed.",
        table(["Stage", "Reason", "Documents"], rows, "llr") if rows else "",
        "\n".join(meanings),
    )


def dead_letters(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    dead = manifest["counts"]["dead_letter"]
    rows = [[code(stage), text(reason), number(n)]
            for stage in stage_order(dead) for reason, n in sorted(dead[stage].items())]
    return section(
        2, "Dead letters",
        (f"{plural(total(dead), 'record')} could not be read or processed; `dead_letter/dead_letter.jsonl.zst` "
         "names each one's file, place and reason (never its text).") if rows
        else "None: every record read became a document or a listed removal.",
        table(["Stage", "Reason", "Records"], rows, "llr") if rows else "",
    )


def personal_data(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    settings = stage_options(manifest, "pii")
    found = by_count(manifest.get("pii", {}))
    if settings is None:
        return section(2, "Personal data", "The PII stage was off: no personal data was redacted.")
    return section(
        2, "Personal data",
        "Detected values of these types are replaced in the published text by a typed placeholder such as "
        "`<EMAIL_ADDRESS>` (Presidio, with the spaCy model "
        f"{text(settings.get('nlp_model', ''))} and score threshold {text(settings.get('score_threshold', ''))}): "
        + (", ".join(text(e) for e in settings.get("entities") or []) or "none") + ". Identifiers (record ids, "
        "URLs, input file names) are redacted the same way, so no record, dead letter or stat holds what the "
        "text lost. `metadata.pii` counts each document's replacements.",
        table(["Type", "Values redacted"], [[text(e), number(n)] for e, n in found], "lr")
        if found else "No value was redacted.",
    )


def tokenizer(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    tok, tokens = manifest.get("tokenizer"), manifest.get("tokens") or {}
    if not tok:
        return section(2, "Tokenizer", "None: the recipe's tokenizer is off, so this snapshot has no token files.")
    order = tok.get("order") or {}
    origin = tok.get("origin", "")
    formats = [TOKEN_FORMATS.get(f, text(f)) for f in tok.get("formats") or []]
    rows = [
        ["Origin", TOKENIZER_ORIGINS.get(origin, text(origin))],
        ["File", f"{code(tok.get('file', ''))}, sha256 {code(tok.get('sha256', ''))}"],
        ["Vocabulary", number(tok.get("vocab_size", 0))],
        ["End of document", text(tok.get("eos") or "none")],
        ["Start of document", text(tok.get("bos") or "none")],
        ["Token dtype", text(tok.get("dtype", ""))],
        ["Layouts", "; ".join(formats) or "none"],
        ["Training order", options(order) if order else "none"],
    ]
    by_category = by_count(tokens.get("by_license_category", {}))
    return section(
        2, "Tokenizer",
        table(["Property", "Value"], rows),
        f"{plural(tokens.get('total', 0), 'token')} in {plural(tokens.get('documents', 0), 'document')};"
        " by source in [Sources](#sources), by license in [Licenses](#licenses)"
        + (": by license category " + ", ".join(f"{text(c)} {number(n)}" for c, n in by_category) if by_category
           else "") + ".",
    )


def verify(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    return section(
        2, "How to verify it",
        code_block([
            "opencorpus verify <snapshot>                       # re-hash every file against manifest.json",
            "opencorpus verify <snapshot> --public-key KEY.pub  # and check manifest.json.sig, when it is signed",
            "sha256sum manifest.json                            # the snapshot digest",
        ]),
        "Compare the digest with the one the publisher announces: `manifest.json` names every other file by "
        "sha256, so one digest covers the whole version.",
    )


def reproduce(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    replayed = " Its takedowns are replayed on the rebuild." if manifest.get("takedowns") else ""
    return section(
        2, "How to rebuild it",
        code_block([
            "opencorpus reproduce <snapshot>",
            "opencorpus reproduce <snapshot> --inputs INPUTS --scratch SCRATCH",
        ]),
        "`reproduce` rebuilds this version from its manifest alone (the recipe, every input file by sha256, "
        "the tokenizer) as `opencorpus run --no-cache` would, and compares every file; it exits 0 only when the "
        "digest is the published one. `--inputs` is the folder the relative input paths under "
        "[Sources](#sources) are taken from (by default the recipe's folder as `run.json` recorded it); "
        "`--scratch` keeps the rebuild. An input that is missing or has another sha256 is named and nothing "
        f"runs.{replayed} The rebuild needs opencorpus {text(manifest.get('code', {}).get('opencorpus', ''))}; "
        "the dependency versions it was made with:",
        table(["Package", "Version"], [[text(name), text(version or "not installed")]
                                       for name, version in sorted(manifest.get("dependencies", {}).items())]),
    )


def lookup(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    return section(
        2, "Is a document in it?",
        code_block([
            "opencorpus hash FILE                                # the canonical sha256 of a file's text",
            "opencorpus license SHA256 --snapshot <snapshot>     # or a FILE, or an http(s) URL",
            "opencorpus serve --snapshot <snapshot> --port 8000  # HTTP API and a web page",
        ]),
        "`license` answers in JSON: whether it was found, its license and evidence, source and id, or, for a "
        "duplicate, the document that was kept (exit 0 found, 3 not found). `serve` answers "
        "`GET /v1/documents/{sha256}` and `POST /v1/lookup` (OpenAPI at `/openapi.json`), and its page at `/` "
        "hashes pasted text or a file in the browser, sending only the hash.",
    )


def takedown(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    done = manifest.get("takedowns") or []
    rows = [[text(t["version"]), text(t["previous"]), text(t["request"]), text(t["reason"]),
             number(t["documents"])] for t in done]
    return section(
        2, "Removal requests",
        "To have a document taken out, send the publisher of this snapshot its hash (`opencorpus hash`) or "
        "URL. The publisher runs",
        code_block([
            'opencorpus takedown --snapshot <snapshot> --hash SHA256 --reason "REQUEST"',
            'opencorpus takedown --snapshot <snapshot> --url URL --reason "REQUEST"  # or --domain, --source, --from-file',
        ]),
        "which publishes a new version without it (documents, tokens, index, stats and cards agree; the "
        "removal is listed in its `removed/`), and leaves this version as it is. A lookup of a taken-down "
        "hash says in which version it was taken down and why.",
        ("This version was made by takedowns:\n\n"
         + table(["Version", "From", "Request", "Reason", "Documents"], rows, "llllr")) if rows else "",
        (f"This version builds on version {text(manifest['previous'].get('version', ''))} (manifest digest "
         f"{code(manifest['previous'].get('digest', ''))}): its documents were carried over as published."
         if manifest.get("previous") else ""),
    )


SECTIONS = (summary, loading, files, sources, licenses, languages, processing, removals, dead_letters,
            personal_data, tokenizer, verify, reproduce, lookup, takedown)
