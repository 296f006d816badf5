"""training-content-summary.md: the snapshot as training content, in the EU template's structure.

Article 53(1)(d) of the AI Act (Regulation (EU) 2024/1689) has every provider of a general-purpose AI
model publish a summary of its training content in the template of the Commission's "Explanatory
Notice and Template for the Public Summary of Training Content for general-purpose AI models" (July
2025): 1. general information, 2. the list of data sources by type, 3. data processing aspects. A
snapshot is training content, not a model, so this file fills the template's sections with what the
snapshot records and marks what only a model provider can write (who they are, the model, the other
content it was trained on); a provider completes it into their summary.

What the snapshot does not record is said, never guessed: whether a file source was public or
licensed privately, which software wrote a WARC file, when pages were captured and from which domains
(each document holds its own `created` and URL, but stats.json counts neither), and what the crawler
skipped (its logs are not inputs of the snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencorpus.cards.dataset_card import (
    NO_LICENSE,
    SNAPSHOT_NOTE,
    by_count,
    code,
    code_block,
    number,
    plural,
    section,
    sources_of,
    stage_options,
    stage_order,
    table,
    text,
    total,
)
from opencorpus.sources.crawl.crawler import ROBOTS_TOKEN

PROVIDER = "**[To be completed by the model provider.]**"
TEMPLATE = ("the European Commission's *Explanatory Notice and Template for the Public Summary of Training "
            "Content for general-purpose AI models* (July 2025)")
# The template's ranges for the size of text training data, in tokens.
TEXT_SIZES = ((10**9, "Less than 1 billion tokens"), (10**13, "1 billion to 10 trillion tokens"))
TEXT_SIZE_ABOVE = "More than 10 trillion tokens"
OTHER_MODALITIES = ("Image", "Audio", "Video", "Other")
# Formats whose documents are pages archived from the web (recipe.SOURCE_FORMATS).
WEB_FORMATS = ("warc", "html")
KIND_CONTENT = {
    "text": "text documents",
    "code": "source code and the files shipped with it (build files, documentation, license notices)",
    "web": "web pages (the main text extracted from their HTML)",
}
CRAWLER_BEHAVIOUR = (
    f"obeys robots.txt (RFC 9309; the group for its token `{ROBOTS_TOKEN}` first, else `*`; a robots.txt "
    "answered with 4xx allows everything, 5xx or no answer disallows everything) and its crawl-delay "
    "(at least `--delay`, 1 s by default, capped at 60 s); skips pages reserved for text and data mining "
    "(TDMRep: the `tdm-reservation` header, the HTML meta tag, `/.well-known/tdmrep.json`) and pages marked "
    "`noai` (robots meta tag or `X-Robots-Tag`); follows no link of a `nofollow` page; sends no cookies or "
    "credentials, so it reaches nothing behind a login or paywall; refuses private, loopback and link-local "
    "addresses; caps every fetch in size (`--max-bytes`, 10 MB by default) and time; stays on the seeds' "
    "hosts (or `--scope prefix`) and never fetches a URL twice"
)


def render(manifest: dict[str, Any], stats: dict[str, Any]) -> bytes:
    """The summary's UTF-8 bytes: the same for the same manifest and stats."""
    body = "\n\n".join(build(manifest, stats) for build in SECTIONS)
    return f"{body}\n".encode()


def web_sources(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in sources_of(manifest) if s.get("format") in WEB_FORMATS]


def file_sources(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in sources_of(manifest) if s.get("format") not in WEB_FORMATS]


def text_size(tokens: int) -> str:
    return next((label for bound, label in TEXT_SIZES if tokens < bound), TEXT_SIZE_ABOVE)


def source_rows(manifest: Mapping[str, Any], specs: list[dict[str, Any]]) -> list[list[str]]:
    """Per source: kind, format, input files and bytes, documents read and published, declared license."""
    counts = manifest.get("sources", {})
    rows = []
    for spec in sorted(specs, key=lambda s: str(s.get("name"))):
        name = str(spec.get("name"))
        inputs = [i for i in manifest.get("inputs", []) if i.get("source") == name]
        rows.append([text(name), text(spec.get("kind", "")), text(spec.get("format", "")),
                     number(len(inputs)), number(sum(i.get("bytes", 0) for i in inputs)),
                     number(counts.get(name, {}).get("input", 0)), number(counts.get(name, {}).get("output", 0)),
                     text(spec.get("license") or "none")])
    return rows


def sources_table(manifest: Mapping[str, Any], specs: list[dict[str, Any]]) -> str:
    return table(["Source", "Kind", "Format", "Input files", "Bytes", "Documents read", "Published",
                  "Declared license"], source_rows(manifest, specs), "lllrrrrl")


# ---- the sections ------------------------------------------------------------------------------


def title(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    name = f"{text(manifest.get('corpus', ''))} {text(manifest.get('version', ''))}"
    return section(
        1, f"Public summary of training content: {name}",
        f"This summary follows the structure of the template in {TEMPLATE}, which Article 53(1)(d) of "
        "Regulation (EU) 2024/1689 (the AI Act) asks providers of general-purpose AI models to fill in. It "
        f"describes one body of training content, version {text(manifest.get('version', ''))} of the corpus "
        f"{text(manifest.get('corpus', ''))} dated {text(manifest.get('date', ''))}, from the snapshot's "
        "`manifest.json` and `stats.json`; the dataset card (`README.md`) has the details. A provider that "
        f"trains a model on it completes the parts marked {PROVIDER} and adds every other content the model "
        "was trained on.",
        SNAPSHOT_NOTE,
    )


def general_information(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    return section(
        2, "1. General information",
        section(3, "1.1 Provider identification", table(["Field", "Answer"], [
            ["Provider name and contact details", PROVIDER],
            ["Authorised representative name and contact details", PROVIDER],
        ])),
        section(3, "1.2 Model identification", table(["Field", "Answer"], [
            ["Versioned model name(s)", PROVIDER],
            ["Model dependencies", PROVIDER],
            ["Date of placement of the model on the Union market", PROVIDER],
        ])),
        modalities(manifest, stats),
    )


def modalities(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    counts, tokens = manifest["counts"], manifest.get("tokens")
    characters = stats.get("documents", {}).get("characters", 0)
    exact = f"{plural(counts['output'], 'document')}, {plural(characters, 'character')}"
    size = (f"{text_size(tokens['total'])} ({plural(tokens['total'], 'token')}; {exact})" if tokens
            else f"Not counted in tokens: the snapshot has no tokenizer ({exact}). {PROVIDER}")
    rows = [["Text", "yes" if counts["output"] else "no (no document)", size, content_types(manifest)]]
    rows += [[modality, "no", "", ""] for modality in OTHER_MODALITIES]
    return section(
        3, "1.3 Modalities, overall training data size and other characteristics",
        "Sizes are those of the training data after pre-processing: the documents this snapshot publishes.",
        table(["Modality", "Present", "Training data size", "Types of content"], rows),
        "\n".join([
            f"- **Latest date of data acquisition or collection:** {text(manifest.get('date', ''))}, the snapshot "
            "date the recipe declares (every document's `added`). The input files are fixed by sha256 (section 2); "
            "the dates of the source material are in each document's `created` where the source gives one.",
            f"- **Ongoing data collection:** this snapshot is fixed; a later version of the corpus is a new "
            f"snapshot. {PROVIDER}",
            f"- **Linguistic characteristics:** {language_mix(stats)}",
            f"- **Other characteristics:** {license_mix(manifest)}",
        ]),
    )


def content_types(manifest: Mapping[str, Any]) -> str:
    """What each kind of source holds, with its sources and their published documents."""
    counts = manifest.get("sources", {})
    by_kind: dict[str, list[str]] = {}
    for spec in sources_of(manifest):
        by_kind.setdefault(str(spec.get("kind")), []).append(str(spec.get("name")))
    parts = [f"{KIND_CONTENT.get(kind, text(kind))}: {', '.join(text(n) for n in sorted(names))} "
             f"({plural(sum(counts.get(n, {}).get('output', 0) for n in names), 'document')})"
             for kind, names in sorted(by_kind.items())]
    return "; ".join(parts) or "none"


def language_mix(stats: Mapping[str, Any]) -> str:
    by_language = stats.get("documents", {}).get("by_language", {})
    if not any(by_language.values()):
        return "not recorded (the language stage did not run, or no document was published)."
    return ("documents by detected language (ISO 639; `und`: undetermined, `zxx`: no linguistic content): "
            + ", ".join(f"{text(language)} {number(n)}" for language, n in by_count(by_language)) + ".")


def license_mix(manifest: Mapping[str, Any]) -> str:
    licenses = by_count(manifest.get("licenses", {}))
    unasserted = manifest.get("licenses", {}).get(NO_LICENSE, 0)
    return (f"each document carries the license detected for it: {plural(len(licenses), 'license expression')}"
            + (f"; {plural(unasserted, 'document')} with none found (NOASSERTION)" if unasserted else "")
            + ". Per license and per category in the dataset card.")


def data_sources(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    return section(
        2, "2. List of data sources",
        public_datasets(manifest),
        section(3, "2.2 Private non-publicly available datasets obtained from third parties",
                "2.2.1 Datasets commercially licensed by rightsholders or their representatives; 2.2.2 private "
                "datasets obtained from other third parties: a recipe records no licence agreement, so the "
                f"snapshot cannot tell (see 2.1). {PROVIDER}"),
        crawled(manifest),
        section(3, "2.4 User data",
                "opencorpus reads only the files its recipe names and collects nothing from the users of a "
                f"product or service; whether a source's files came from such users is not recorded. {PROVIDER}"),
        section(3, "2.5 Synthetic data",
                "A recipe has no kind for content generated by AI models, so none is declared; whether a "
                f"source's files hold such content is not recorded. {PROVIDER}"),
        section(3, "2.6 Other sources of data",
                f"Every source of this snapshot is listed under 2.1 or 2.3. {PROVIDER}"),
    )


def public_datasets(manifest: Mapping[str, Any]) -> str:
    specs = file_sources(manifest)
    return section(
        3, "2.1 Publicly available datasets",
        "This snapshot, once published where anyone can download it, is itself a publicly available dataset: "
        f"list it by corpus ({text(manifest.get('corpus', ''))}), version ({text(manifest.get('version', ''))}) "
        "and snapshot digest (the sha256 of its `manifest.json`).",
        ("Its sources read from files (every input file by path and sha256 is in the dataset card):\n\n"
         + sources_table(manifest, specs)) if specs else "It has no source read from files other than web archives.",
        ("The snapshot records what was read, not how it was obtained. **[The model provider confirms which of "
         "these are publicly available datasets and moves any obtained under a private licence to 2.2.]**")
        if specs else "",
    )


def crawled(manifest: Mapping[str, Any]) -> str:
    specs = web_sources(manifest)
    if not specs:
        return section(3, "2.3 Data crawled and scraped from online sources",
                       "None in this snapshot: no source is a web archive or saved pages (formats `warc`, "
                       f"`html`). {PROVIDER}")
    return section(
        3, "2.3 Data crawled and scraped from online sources",
        "These sources hold pages archived from the web (`warc`: WARC or ARC archives; `html`: saved pages):",
        sources_table(manifest, specs),
        "The snapshot does not record which software wrote the archives. WARC files written by `opencorpus "
        "crawl` name it in their `warcinfo` record (`software: opencorpus/<version>`) and were made under the "
        f"fixed policy below. For archives made otherwise: {PROVIDER}",
        table(["Field", "Answer"], [
            ["Crawler name(s) / identifier(s)",
             f"`opencorpus crawl`; user agent `opencorpus/<version> (corpus crawler; robots token: {ROBOTS_TOKEN})`"],
            ["Purpose of the crawler(s)", "collecting web pages as sources of a corpus curated with opencorpus"],
            ["General description of crawler behaviour", f"It {CRAWLER_BEHAVIOUR}."],
            ["Period of data collection", "not counted in the snapshot's stats: each page's capture time is its "
                                          f"document's `created` (the WARC-Date). {PROVIDER}"],
            ["Type of content and online sources crawled", "web pages; their main text is extracted from HTML"],
            ["Most relevant domain names crawled", "not counted in the snapshot's stats: each document's "
                                                   "`metadata.url` holds its URL. **[To be completed by the model "
                                                   "provider: the most relevant domain names, by size of content, "
                                                   "as the template asks.]**"],
        ]),
        "The crawler logs every URL it skipped and why (`logs/crawl-NNNNN.jsonl` beside its WARC files: "
        "`robots-disallowed`, `tdm-reserved`, `noai`, ...). Those logs are not inputs of this snapshot and their "
        "counts are not in it; what the snapshot counts starts from the archives (section 3).",
    )


def processing(manifest: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    return section(2, "3. Data processing aspects", reservations(manifest), illegal_content(manifest),
                   other_information(manifest))


def reservations(manifest: Mapping[str, Any]) -> str:
    crawl = (("Before and during collection: `opencorpus crawl` skips pages whose robots.txt disallows it, that "
              "carry a TDMRep reservation or that are marked `noai` (2.3). opencorpus does not check reservations "
              "in archives written by other crawlers.") if web_sources(manifest)
             else "No content of this snapshot was crawled from the web (2.3).")
    return section(
        3, "3.1 Respect of reservation of rights from text and data mining exception or limitation",
        crawl,
        license_policy(manifest),
        "After publication, anyone can check whether a work is in this snapshot, and a rightsholder can ask its "
        "publisher to take it out; the publisher's takedown publishes a new version without it:",
        code_block([
            "opencorpus license SHA256 --snapshot <snapshot>   # or a FILE, or an http(s) URL",
            'opencorpus takedown --snapshot <snapshot> --hash SHA256 --reason "REQUEST"',
        ]),
        takedowns(manifest),
        f"Reservations expressed otherwise (terms of service, notices in the text) are not checked. {PROVIDER}",
    )


def license_policy(manifest: Mapping[str, Any]) -> str:
    policy = stage_options(manifest, "license")
    if policy is None:
        return "No license policy ran: the license stage is off, so no document was kept or dropped by license."
    removed = manifest["counts"]["removed"].get("license", {})
    rows = [[text(category), text(action)] for category, action in sorted(policy.get("actions", {}).items())]
    return (f"Every document's license is detected (from its text, the source's license files and declared "
            f"license) and handled by the license policy `{text(policy.get('policy', ''))}`: keep, flag (kept with "
            f"`metadata.license_flagged`) or drop, by category. The policy dropped "
            f"{plural(sum(removed.values()), 'document')}.\n\n" + table(["License category", "Action"], rows))


def takedowns(manifest: Mapping[str, Any]) -> str:
    done = manifest.get("takedowns") or []
    rows = [[text(t["version"]), text(t["request"]), text(t["reason"]), number(t["documents"])] for t in done]
    return ("Takedowns that made this version:\n\n" + table(["Version", "Request", "Reason", "Documents"], rows, "lllr")
            if rows else "No takedown made this version.")


def illegal_content(manifest: Mapping[str, Any]) -> str:
    removed = manifest["counts"]["removed"]
    rows = [[code(stage), text(reason), number(n)]
            for stage in stage_order(removed) for reason, n in sorted(removed[stage].items())]
    return section(
        3, "3.2 Removal of illegal content",
        "No classifier for illegal content (such as child sexual abuse material or terrorist content) ran in "
        "this pipeline. The removals the snapshot records, by stage and reason (each document is listed in "
        "`removed/` with its hash, id, stage and reason):",
        table(["Stage", "Reason", "Documents"], rows, "llr") if rows else "No document was removed.",
        PROVIDER,
    )


def other_information(manifest: Mapping[str, Any]) -> str:
    settings = stage_options(manifest, "pii")
    found = by_count(manifest.get("pii", {}))
    dead = total(manifest["counts"]["dead_letter"])
    personal = ("Personal data: the PII stage was off; nothing was redacted." if settings is None else
                "Personal data: values of these types are replaced in the published text by a typed placeholder "
                "such as `<EMAIL_ADDRESS>`: " + (", ".join(text(e) for e in settings.get("entities") or []) or "none")
                + f". {plural(sum(n for _, n in found), 'value')} were redacted"
                + (":\n\n" + table(["Type", "Values redacted"], [[text(e), number(n)] for e, n in found], "lr")
                   if found else "."))
    return section(
        3, "3.3 Other information",
        personal,
        f"Unreadable records: {plural(dead, 'record')} went to `dead_letter/` (where and why, no text).",
        "The snapshot's digest (the sha256 of `manifest.json`) covers every file; `opencorpus verify <snapshot>` "
        "re-hashes them and `opencorpus reproduce <snapshot>` rebuilds the version from its manifest.",
    )


SECTIONS = (title, general_information, data_sources, processing)
