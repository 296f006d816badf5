"""croissant.json: the version in Croissant 1.1 (http://mlcommons.org/croissant/1.1) with the
Responsible AI vocabulary (rai:, http://mlcommons.org/croissant/RAI/), from its manifest and stats.

Every file the manifest lists is a cr:FileObject with its sha256 and a contentUrl relative to the
version folder, so the description holds wherever the folder is mirrored and a loader never goes
to the network. The run's provenance is PROV-O, which the Croissant 1.1 spec recommends ("Using
External Vocabularies"): `prov:wasGeneratedBy` an activity that used recipe.yaml and the
tokenizer (each by its FileObject and sha256) and was run by opencorpus at the manifest's code
version with its dependencies' versions. The RAI properties are filled from the run's counts
and settings only: nothing in them is written by hand or read from the clock.

The documents are zstd-compressed JSON lines, and mlcroissant 1.1.1 cannot read them as
published: its Read operation (operation_graph/operations/read.py) opens each file as a raw
handle and decompresses only what starts with gzip's magic bytes; pandas would infer zstd from a
`.zst` path, but mlcroissant hands it the open handle, from which pandas infers no compression,
and its one path-based read (text/plain lines through read_csv) splits JSON lines at commas.
Writing gzip copies would double the corpus on disk, and gzip parts instead of zstd would change
every published file and digest, so neither is done. Instead:

- record set `documents` describes the JSON lines: the top-level fields and the metadata scalars
  every document has (metadata through `column` plus a `jsonPath` transform, the form mlcroissant
  applies to JSON lines); the per-document maps and lists (pii counts, license_evidence,
  duplicates) and the keys only some sources set (url, path) are left out. Its file set
  matches the published parts and, as a second pattern, the same parts decompressed
  (`zstd -d --rm documents/*.jsonl.zst` in a copy of the folder), which mlcroissant reads; tools
  that open the `.zst` paths themselves (pandas read_json on a path, Hugging Face datasets' json
  builder) read the published parts directly. mlcroissant concatenates a file set in memory, so
  it is a checker and sampler here, not a loader at corpus scale.
- record set `token_ranges` reads tokens/part-NNNNN.csv.gz, gzip as published, so mlcroissant
  loads it as is: every document's id, source and sha256_published with its token range.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opencorpus.cards.dataset_card import stage_options
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json
from opencorpus.recipe import STAGE_DEFAULTS

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
# The @context of the Croissant 1.1 spec (Appendix 1), with the terms mlcroissant 1.1.1 also
# expects (it logs every missing one) and the PROV-O prefix for the provenance.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "annotation": "cr:annotation",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "excludes": "cr:excludes",
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "readLines": "cr:readLines",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sdVersion": "cr:sdVersion",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "unArchive": "cr:unArchive",
    "value": "cr:value",
}
# encodingFormat of a file by its last suffix: what its bytes are (a FileSet names the content).
# .npy has no registered media type; the spec asks for the format's page then.
FORMAT_BY_SUFFIX = {
    "zst": "application/zstd", "gz": "application/gzip", "json": "application/json",
    "yaml": "application/yaml", "npy": "https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html",
}
OTHER_FORMAT = "application/octet-stream"
DOCUMENT_PARTS = "documents/*.jsonl.zst"
DECOMPRESSED_DOCUMENT_PARTS = "documents/*.jsonl"
TOKEN_RANGE_PARTS = "tokens/part-*.csv.gz"
SPDX_LICENSE_URL = "https://spdx.org/licenses/{}.html"
# SPDX expression syntax: operators, and the ids that name no license; LicenseRef-/DocumentRef-
# ids are the publisher's own, with no page on spdx.org.
SPDX_OPERATORS = {"AND", "OR", "WITH"}
NO_LICENSE = ("NOASSERTION", "NONE")
OWN_LICENSE_PREFIXES = ("LicenseRef-", "DocumentRef-")
# rai:dataCollectionType's recommended values, by source format: web pages are scraped, every
# other format reads documents someone else collected.
WEB_SOURCE_FORMATS = ("warc", "html")
# The stats key of documents the language stage did not see (language null).
NO_LANGUAGE = "null"
# Composition lines name this many of the largest groups, then the rest in one.
LARGEST_GROUPS = 5


def render(manifest: dict[str, Any], stats: dict[str, Any]) -> bytes:
    """croissant.json's bytes: sorted keys, so the same snapshot gives the same bytes."""
    return canonical_json(croissant(manifest, stats))


def croissant(manifest: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    """The Croissant JSON-LD document of a version, as a dict."""
    # tokens/part-NNNNN.csv.gz exist when a tokenizer ran.
    has_token_ranges = any(_matches_token_ranges(f["path"]) for f in manifest["files"])
    record_sets = [documents_record_set(manifest, stats)] + ([token_ranges_record_set()] if has_token_ranges else [])
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": manifest["corpus"],
        "description": description(manifest, stats, has_token_ranges),
        "version": manifest["version"],
        "datePublished": manifest["date"],
        "citeAs": cite_as(manifest),
        # Both absent when no document is published: an empty list would say the same less plainly.
        **({"license": terms} if (terms := licenses(manifest["licenses"])) else {}),
        **({"inLanguage": languages} if (languages := languages_of(stats)) else {}),
        "distribution": [file_object(f) for f in manifest["files"]] + file_sets(has_token_ranges),
        "recordSet": record_sets,
        "prov:wasGeneratedBy": generated_by(manifest),
        **responsible_ai(manifest, stats),
    }


def description(manifest: dict[str, Any], stats: dict[str, Any], has_token_ranges: bool) -> str:
    counts = manifest["counts"]
    tokens = (manifest.get("tokens") or {}).get("total")
    size = f"{stats['documents']['characters']} characters" + (f", {tokens} tokens" if tokens is not None else "")
    return (f"{manifest['corpus']} {manifest['version']}: {counts['output']} documents ({size}) from the recipe's "
            f"{len(manifest['recipe']['sources'])} sources ({counts['input']} documents read), curated by opencorpus "
            f"{manifest['code']['opencorpus']} from recipe.yaml. Every file is listed below and in manifest.json with "
            "its sha256. Record set `documents` describes the documents/ parts (zstd JSON lines; its file set says "
            "how mlcroissant reads them)"
            + ("; `token_ranges` maps each document to its tokens." if has_token_ranges else "."))


def cite_as(manifest: dict[str, Any]) -> str:
    """A BibTeX entry for this version; corpus and version names are [A-Za-z0-9._-] (recipe.py)."""
    key = re.sub(r"[^A-Za-z0-9]", "_", f"{manifest['corpus']}_{manifest['version']}")
    return (f"@misc{{{key}, title = {{{manifest['corpus']}, version {manifest['version']}}}, "
            f"year = {{{manifest['date'][:4]}}}, note = {{opencorpus {manifest['code']['opencorpus']} snapshot}}}}")


def license_ids(expression: str) -> list[str]:
    """The license and exception ids of an SPDX expression, without operators or the `+` suffix."""
    tokens = re.findall(r"[A-Za-z0-9.:+-]+", expression)
    return [t.rstrip("+") for t in tokens if t.upper() not in SPDX_OPERATORS]


def licenses(license_counts: dict[str, int]) -> list[str]:
    """schema.org license: an spdx.org URL per SPDX id in any document's license, the others
    (NOASSERTION, LicenseRef-...) as they are, so that no document's terms go unmentioned."""
    ids = sorted({i for expression in license_counts for i in license_ids(expression)})
    return [i if i in NO_LICENSE or i.startswith(OWN_LICENSE_PREFIXES) else SPDX_LICENSE_URL.format(i) for i in ids]


def languages_of(stats: dict[str, Any]) -> list[str]:
    return sorted(k for k in stats["documents"].get("by_language", {}) if k != NO_LANGUAGE)


def file_object(entry: dict[str, Any]) -> dict[str, Any]:
    path = entry["path"]
    return {
        "@type": "cr:FileObject",
        "@id": path,
        "name": path,
        "contentUrl": path,
        "contentSize": f"{entry['bytes']} B",
        "encodingFormat": FORMAT_BY_SUFFIX.get(path.rsplit(".", 1)[-1], OTHER_FORMAT),
        "sha256": entry["sha256"],
    }


def _matches_token_ranges(path: str) -> bool:
    return path.startswith("tokens/part-") and path.endswith(".csv.gz")


def file_sets(has_token_ranges: bool) -> list[dict[str, Any]]:
    """The files the record sets read, by pattern: their content's format, not their container's."""
    sets = [{
        "@type": "cr:FileSet",
        "@id": "documents-jsonl",
        "name": "documents-jsonl",
        "description": (
            f"The document parts ({DOCUMENT_PARTS}, the FileObjects above give their sha256): JSON lines, "
            "zstd-compressed. mlcroissant 1.1.1 decompresses gzip only, so it reads them once decompressed in a "
            f"copy of this folder (`zstd -d --rm {DOCUMENT_PARTS}`), which the second pattern matches. pandas "
            "(read_json on the path, lines=True) and Hugging Face datasets (json builder) read the .zst parts as "
            "published."),
        "encodingFormat": "application/jsonlines",
        "includes": [DOCUMENT_PARTS, DECOMPRESSED_DOCUMENT_PARTS],
    }]
    if has_token_ranges:
        sets.append({
            "@type": "cr:FileSet",
            "@id": "token-ranges-csv",
            "name": "token-ranges-csv",
            "description": ("Per token part, a gzip CSV mapping each document's token range [start, end) in "
                            "tokens/part-NNNNN.bin to its id, source and sha256_published; readable as published."),
            "encodingFormat": "text/csv",
            "includes": TOKEN_RANGE_PARTS,
        })
    return sets


def field(record_set: str, name: str, data_type: str, description: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"@type": "cr:Field", "@id": f"{record_set}/{name}", "name": name, "description": description,
            "dataType": data_type, "source": source}


def document_column(column: str) -> dict[str, Any]:
    return {"fileSet": {"@id": "documents-jsonl"}, "extract": {"column": column}}


def document_metadata(key: str) -> dict[str, Any]:
    """metadata.<key>: mlcroissant applies jsonPath to JSON lines as a transform of a column."""
    return {**document_column("metadata"), "transform": {"jsonPath": key}}


def documents_record_set(manifest: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    """One record per published document. license_category is declared only when a license
    policy set it on the documents (stats count it), so every declared field is in the data."""
    pii_on = stage_options(manifest, "pii") is not None
    text = "The document's text" + (", personal information replaced by typed placeholders such as "
                                    "<EMAIL_ADDRESS>." if pii_on else ", as read.")
    fields = [
        field("documents", "id", "sc:Text", "The source's name, a slash, and the document's id in that source.",
              document_column("id")),
        field("documents", "text", "sc:Text", text, document_column("text")),
        field("documents", "source", "sc:Text", "The name of the recipe source the document was read from.",
              document_column("source")),
        field("documents", "added", "sc:Date", "The snapshot date (the recipe's `date`).", document_column("added")),
        field("documents", "created", "sc:Text", "The creation date the source gave, as given; null when none.",
              document_column("created")),
        field("documents", "license", "sc:Text", "SPDX license expression, or NOASSERTION when none was found.",
              document_metadata("license")),
    ]
    if stats["documents"].get("by_license_category"):
        fields.append(field("documents", "license_category", "sc:Text",
                            "The license policy's category of the license (permissive, copyleft, unknown, ...).",
                            document_metadata("license_category")))
    fields += [
        field("documents", "language", "sc:Text", "Identified language code; null when the language stage was off.",
              document_metadata("language")),
        field("documents", "sha256", "sc:Text", "sha256 of the canonical text as read, before redaction.",
              document_metadata("sha256")),
        field("documents", "sha256_published", "sc:Text",
              "sha256 of the canonical published text (`opencorpus hash` computes it).",
              document_metadata("sha256_published")),
    ]
    return {"@type": "cr:RecordSet", "@id": "documents", "name": "documents",
            "description": "One record per published document (one JSON line of documents/part-NNNNN.jsonl.zst).",
            "field": fields}


def token_ranges_record_set() -> dict[str, Any]:
    def column(name: str) -> dict[str, Any]:
        return {"fileSet": {"@id": "token-ranges-csv"}, "extract": {"column": name}}

    part = {"fileSet": {"@id": "token-ranges-csv"}, "extract": {"fileProperty": "filename"},
            "transform": {"regex": r"^part-(\d+)\.csv\.gz$"}}
    return {"@type": "cr:RecordSet", "@id": "token_ranges", "name": "token_ranges",
            "description": "One record per published document with tokens: where they are in the token parts.",
            "field": [
                field("token_ranges", "part", "sc:Integer", "The token part: tokens/part-NNNNN.bin.", part),
                field("token_ranges", "start", "sc:Integer", "First token of the document in the part.",
                      column("start")),
                field("token_ranges", "end", "sc:Integer", "One past its last token (the EOS token).", column("end")),
                field("token_ranges", "id", "sc:Text", "The document's id (documents/id).", column("id")),
                field("token_ranges", "source", "sc:Text", "The document's source.", column("source")),
                field("token_ranges", "sha256_published", "sc:Text", "The document's sha256_published.",
                      column("sha256_published")),
            ]}


def generated_by(manifest: dict[str, Any]) -> dict[str, Any]:
    """The run as a prov:Activity: what it used (recipe, tokenizer, by digest) and which code ran it."""
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    used = [{"@id": path, "sha256": digests[path]} for path in (layout.RECIPE, layout.TOKENIZER) if path in digests]
    requirements = [f"{name}=={version}" for name, version in sorted(manifest["dependencies"].items()) if version]
    return {
        "@type": "prov:Activity",
        "prov:label": f"opencorpus run of recipe {manifest['corpus']} ({layout.RECIPE}) for version {manifest['version']}",
        "prov:used": used,
        "prov:wasAssociatedWith": {
            "@type": ["prov:SoftwareAgent", "sc:SoftwareApplication"],
            "name": "opencorpus",
            "softwareVersion": manifest["code"]["opencorpus"],
            "softwareRequirements": requirements,
        },
    }


def _share(n: int, total: int) -> str:
    return f"{n} ({n / total:.1%})" if total else str(n)


def composition(counts: dict[str, int]) -> str:
    """'a 5 (50.0%), b 3 (30.0%), 2 others 2 (20.0%)': the largest groups first, then the rest."""
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{name} {_share(n, total)}" for name, n in ranked[:LARGEST_GROUPS]]
    rest = ranked[LARGEST_GROUPS:]
    if rest:
        parts.append(f"{len(rest)} others {_share(sum(n for _, n in rest), total)}")
    return ", ".join(parts)


def _counted(reasons: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))


def _settings(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def data_collection(manifest: dict[str, Any]) -> str:
    sources = []
    for spec in manifest["recipe"]["sources"]:
        counts = manifest["sources"].get(spec["name"], {"input": 0, "output": 0})
        sources.append(f"{spec['name']} ({spec['kind']}, {spec['format']}, {_declared_license(spec)}): "
                       f"{counts['input']} read, {counts['output']} published")
    return (f"Documents read from the {len(sources)} sources of the recipe, on {manifest['date']}: "
            + "; ".join(sources) + ".")


def _declared_license(spec: dict[str, Any]) -> str:
    if spec.get("license"):
        return f"declared license {spec['license']}"
    return f"license file {spec['license_file']}" if spec.get("license_file") else "no declared license"


def collection_types(manifest: dict[str, Any]) -> list[str]:
    formats = {spec["format"] for spec in manifest["recipe"]["sources"]}
    types = {"Web Scraping" if f in WEB_SOURCE_FORMATS else "Secondary Data analysis" for f in formats}
    return sorted(types)


def raw_data(manifest: dict[str, Any]) -> str:
    per_source: dict[str, list[int]] = {}
    for entry in manifest["inputs"]:
        files_bytes = per_source.setdefault(entry["source"], [0, 0])
        files_bytes[0] += 1
        files_bytes[1] += entry["bytes"]
    summary = "; ".join(f"{name}: files {files}, bytes {size}" for name, (files, size) in sorted(per_source.items()))
    return (f"{len(manifest['inputs'])} input files, each listed by path, size and sha256 in manifest.json "
            f"(`inputs`), so a rebuild can check it reads the same bytes. {summary or 'No input files.'}")


def missing_data(manifest: dict[str, Any]) -> str:
    dead = manifest["counts"]["dead_letter"]
    total = sum(n for reasons in dead.values() for n in reasons.values())
    if not total:
        return "Every input record was read: there are no dead letters."
    per_stage = "; ".join(f"{stage}: {_counted(reasons)}" for stage, reasons in sorted(dead.items()))
    return (f"{total} input records could not be read or processed and are not among the documents; "
            f"{layout.DEAD_LETTER} lists each one's place and reason, without text. {per_stage}.")


def preprocessing_protocol(manifest: dict[str, Any]) -> list[str]:
    """One entry per step, numbered because a JSON-LD list of values has no order. Steps with no
    recipe settings (extract for web pages, takedown of an earlier version's documents) run
    before the recipe's stages, which run in recipe.STAGE_DEFAULTS' order."""
    removed = manifest["counts"]["removed"]
    steps = [f"{stage}: removed {_removals(removed[stage])}" for stage in sorted(set(removed) - set(STAGE_DEFAULTS))]
    for stage in STAGE_DEFAULTS:
        options = stage_options(manifest, stage)
        if options is None:
            steps.append(f"{stage}: off")
            continue
        step = f"{stage}: settings {_settings(options)}; removed {_removals(removed.get(stage, {}))}"
        if stage == "pii":
            step += f"; replaced {sum(manifest['pii'].values())} values (see rai:personalSensitiveInformation)"
        steps.append(step)
    if manifest.get("tokenizer"):
        steps.append(_tokenize_step(manifest))
    return [f"Step {i} of {len(steps)}, {step}" for i, step in enumerate(steps, 1)]


def _removals(reasons: dict[str, int]) -> str:
    total = sum(reasons.values())
    return f"{total} documents ({_counted(reasons)})" if total else "no documents"


def _tokenize_step(manifest: dict[str, Any]) -> str:
    tokenizer = manifest["tokenizer"]
    tokens = (manifest.get("tokens") or {}).get("total", 0)
    return (f"tokenize: settings {_settings(manifest['recipe'].get('tokenizer') or {})}; tokenizer "
            f"{layout.TOKENIZER} (sha256 {tokenizer['sha256']}, {tokenizer.get('vocab_size')} ids); "
            f"{tokens} tokens in tokens/")


def personal_information(manifest: dict[str, Any]) -> list[str]:
    options = stage_options(manifest, "pii")
    if options is None:
        return ["The pii stage was off: texts are published as read and may hold personal information."]
    found = manifest["pii"]
    return [
        ("Personal information that the pii stage detects (Presidio recognizers; names by spaCy NER) is replaced "
         "in the text by a typed placeholder such as <EMAIL_ADDRESS>; metadata.pii counts each document's "
         f"replacements by type. Settings: {_settings(options)}."),
        (f"Replaced in this version: {_counted(found)}." if found else "Nothing was replaced in this version."),
        "No field records sensitive attributes of people (gender, age, ...); texts may mention them.",
    ]


def limitations(manifest: dict[str, Any]) -> list[str]:
    """Known limits of this version's data, each from its counts or settings."""
    output = manifest["counts"]["output"]
    found = []
    if output == 0:
        found.append("This version holds no documents.")
    unasserted = manifest["licenses"].get("NOASSERTION", 0)
    if unasserted:
        found.append(f"{_share(unasserted, output)} documents have no license found (NOASSERTION): "
                     "their terms are unknown.")
    if stage_options(manifest, "language") is not None:
        found.append("Languages are identified automatically: short texts, code and mixed texts may be "
                     "misidentified.")
    if (pii := stage_options(manifest, "pii")) is not None:
        found.append(f"PII detection is automatic: values it misses stay in the text; names are found by the "
                     f"{pii.get('nlp_model')} model for language {pii.get('language')}.")
    if stage_options(manifest, "dedup") is not None or stage_options(manifest, "near_dedup") is not None:
        found.append("Duplicates are removed within this version only, not against other corpora.")
    found += _unfiltered_kinds(manifest)
    return found


def _unfiltered_kinds(manifest: dict[str, Any]) -> list[str]:
    """A source kind whose quality preset is `off` (or the quality stage off) had no quality filter."""
    quality = stage_options(manifest, "quality")
    presets = (quality or {}).get("presets", {})
    unfiltered: dict[str, list[str]] = {}
    for spec in manifest["recipe"]["sources"]:
        preset = presets.get(spec["kind"])
        if quality is None or (isinstance(preset, dict) and not preset.get("filters")):
            unfiltered.setdefault(spec["kind"], []).append(spec["name"])
    return [f"No quality filter ran on {kind} sources: {', '.join(names)}." for kind, names in sorted(unfiltered.items())]


def biases(manifest: dict[str, Any], stats: dict[str, Any]) -> list[str]:
    """The composition by source and language: the skews a consumer weighs first."""
    by_source = {name: counts["output"] for name, counts in manifest["sources"].items() if counts["output"]}
    if not by_source:
        return []
    found = [f"Documents by source: {composition(by_source)}."]
    by_language = {k: n for k, n in stats["documents"].get("by_language", {}).items() if k != NO_LANGUAGE}
    if by_language:
        found.append(f"Documents by identified language: {composition(by_language)}.")
    return found


def annotation_tools(manifest: dict[str, Any]) -> list[str]:
    """The stages that annotate each document's metadata, with the code that ran them."""
    deps = manifest["dependencies"]
    code = f"opencorpus {manifest['code']['opencorpus']}"
    tools = []
    if stage_options(manifest, "license") is not None:
        tools.append(f"{code} license stage (license-expression {deps.get('license-expression')}): metadata.license, "
                     "license_evidence, license_category")
    if stage_options(manifest, "language") is not None:
        tools.append(f"{code} language stage: metadata.language, language_score")
    if (pii := stage_options(manifest, "pii")) is not None:
        tools.append(f"{code} pii stage (presidio-analyzer {deps.get('presidio-analyzer')}, spacy {deps.get('spacy')}, "
                     f"model {pii.get('nlp_model')}): metadata.pii")
    return tools


def release_plan(manifest: dict[str, Any]) -> str:
    plan = ("A version folder does not change once published: manifest.json lists every file's sha256 "
            "(`opencorpus verify` checks them); corrections and takedowns publish a new version.")
    if previous := manifest.get("previous"):
        plan += f" This version builds on {previous['version']} (manifest sha256 {previous['digest']})."
    for takedown in manifest.get("takedowns", []):
        plan += (f" Takedown {takedown['previous']} -> {takedown['version']}: {takedown['documents']} documents "
                 f"({takedown['reason']}).")
    return plan


def responsible_ai(manifest: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "rai:dataCollection": data_collection(manifest),
        "rai:dataCollectionType": collection_types(manifest),
        "rai:dataCollectionRawData": raw_data(manifest),
        "rai:dataCollectionMissingData": missing_data(manifest),
        "rai:dataPreprocessingProtocol": preprocessing_protocol(manifest),
        "rai:personalSensitiveInformation": personal_information(manifest),
        "rai:dataLimitations": limitations(manifest),
        "rai:dataBiases": biases(manifest, stats),
        "rai:machineAnnotationTools": annotation_tools(manifest),
        "rai:dataReleaseMaintenancePlan": release_plan(manifest),
    }
    return {key: value for key, value in properties.items() if value}
