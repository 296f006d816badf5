"""card.html: one self-contained page about a version, a summary table and the plots of its stats.

Everything is inline (CSS, the SVG plots) and nothing is fetched or run: the page reads the
same from a bucket, a mirror or a laptop with no network. Every string that comes from the
data (corpus, sources, licenses, stages, languages) is escaped here, or by matplotlib inside
the SVG. The bytes depend only on the manifest and stats, like every other file of a version.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from opencorpus.cards import plots

CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d232b;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 720px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h1 .version { color: #5b6470; font-weight: normal; }
h2 { font-size: 18px; margin: 32px 0 8px; }
.lede { color: #4a525c; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #dde1e6; }
th, td { text-align: left; padding: 6px 12px; border-bottom: 1px solid #e8ebee; vertical-align: top; }
th { width: 34%; font-weight: 600; color: #3a424c; }
td.number { font-variant-numeric: tabular-nums; }
figure { margin: 0; background: #fff; border: 1px solid #dde1e6; padding: 10px 10px 6px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #4a525c; font-size: 13.5px; margin: 6px 2px 2px; }
footer { color: #5b6470; font-size: 13px; margin-top: 32px; }
""".strip()
TOKENIZER_ORIGINS = {"train": "trained on this corpus", "path": "a given tokenizer.json", "gpt2": "GPT-2's"}
Caption = Callable[[dict[str, Any]], str]


def render(manifest: dict[str, Any], stats: dict[str, Any]) -> bytes:
    """The page's UTF-8 bytes: the same for the same manifest and stats."""
    name = f"{manifest['corpus']} {manifest['version']}"
    body = "\n".join([
        f'<h1>{escape(manifest["corpus"])} <span class="version">{escape(manifest["version"])}</span></h1>',
        f'<p class="lede">Data card of version {escape(manifest["version"])} of the corpus'
        f' {escape(manifest["corpus"])}, dated {escape(str(manifest["date"]))}. Every number on this page'
        ' comes from the version\'s <a href="manifest.json">manifest.json</a> and'
        ' <a href="stats.json">stats.json</a>.</p>',
        '<h2 id="summary">Summary</h2>',
        summary_table(manifest, stats),
        *(plot_section(name, heading, draw(stats), caption(stats)) for name, heading, draw, caption in PLOTS),
        f'<footer>Made by opencorpus {escape(str(manifest.get("code", {}).get("opencorpus", "")))}'
        ' with matplotlib; the plots are inline SVG.</footer>',
    ])
    page = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{escape(name)} · data card</title>\n<style>\n{CSS}\n</style>\n</head>\n'
            f'<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n')
    return page.encode("utf-8")


def summary_table(manifest: dict[str, Any], stats: dict[str, Any]) -> str:
    counts = stats["counts"]
    removed, dead = lost(counts["removed"]), lost(counts["dead_letter"])
    tokens = stats.get("tokens")
    unasserted = stats.get("licenses", {}).get("NOASSERTION", 0)
    rows = [
        ("Documents", f"{counts['output']:,} published of {counts['input']:,} read"),
        ("Tokens", f"{tokens['total']:,}" if tokens else "none (no tokenizer)"),
        ("Characters", f"{stats.get('documents', {}).get('characters', 0):,}"),
        ("Sources", f"{len(stats.get('sources', {})):,}"),
        ("Licenses", f"{len(stats.get('licenses', {})):,} distinct expressions"
                     + (f"; {unasserted:,} documents without one (NOASSERTION)" if unasserted else "")),
        ("Removed", f"{removed:,}" + (f" ({removed / counts['input']:.1%} of read)" if counts["input"] else "")),
        ("Dead letters", f"{dead:,}"),
        ("Tokenizer", tokenizer_text(manifest.get("tokenizer"))),
    ]
    cells = "\n".join(f"<tr><th scope=\"row\">{escape(label)}</th><td>{escape(value)}</td></tr>"
                      for label, value in rows)
    return f'<table aria-labelledby="summary">\n{cells}\n</table>'


def tokenizer_text(tokenizer: dict[str, Any] | None) -> str:
    """Where the tokenizer came from, its vocabulary, end-of-document token and file formats."""
    if not tokenizer:
        return "none"
    origin = TOKENIZER_ORIGINS.get(tokenizer.get("origin", ""), str(tokenizer.get("origin", "unknown")))
    parts = [origin, f"vocabulary {tokenizer.get('vocab_size', 0):,}"]
    if tokenizer.get("eos"):
        parts.append(f"end of document {tokenizer['eos']}")
    if tokenizer.get("formats"):
        parts.append("files: " + ", ".join(tokenizer["formats"]))
    return "; ".join(parts)


def plot_section(name: str, heading: str, svg: str, caption: str) -> str:
    """A heading and a figure: the plot (escaped by matplotlib) and its escaped caption."""
    return (f'<h2 id="{name}">{escape(heading)}</h2>\n'
            f'<figure aria-labelledby="{name}">\n{svg}\n<figcaption>{escape(caption)}</figcaption>\n</figure>')


def lost(by_stage: dict[str, dict[str, int]]) -> int:
    """Documents removed (or dead-lettered) over every stage and reason."""
    return sum(n for reasons in by_stage.values() for n in reasons.values())


def sources_caption(stats: dict[str, Any]) -> str:
    count = len(stats.get("sources", {}))
    tokens = ("the tokens of what was published on the right" if "tokens" in stats
              else "no token counts, as no tokenizer ran")
    return (f"Per source, the documents published (dark) of those read (the whole bar), and {tokens}. "
            f"{count:,} source{'' if count == 1 else 's'}{_ranked_note(count)}.")


def licenses_caption(stats: dict[str, Any]) -> str:
    if stats.get("documents", {}).get("by_license_category"):
        return ("Published documents, and their tokens, by the category the recipe's license policy gives their"
                " license, least to most restrictive; unknown includes documents with no license found"
                " (NOASSERTION).")
    count = len(stats.get("licenses", {}))
    return (f"No license policy ran, so no categories: published documents, and their tokens, by SPDX license"
            f" expression. {count:,} expression{'' if count == 1 else 's'}{_ranked_note(count)}.")


def removals_caption(stats: dict[str, Any]) -> str:
    counts = stats["counts"]
    return (f"{counts['input']:,} documents read; {lost(counts['removed']):,} removed by the stages"
            f" (per stage, in pipeline order, and reason); {lost(counts['dead_letter']):,} dead letters"
            f" (documents that could not be read or processed); {counts['output']:,} published.")


def lengths_caption(stats: dict[str, Any]) -> str:
    documents = stats.get("documents", {})
    empty = documents.get("by_length", {}).get("0", 0)
    return (f"Published documents by length in characters, in power-of-two bins on a log scale;"
            f" {documents.get('characters', 0):,} characters in all."
            + (f" {empty:,} empty document{'' if empty == 1 else 's'} not shown." if empty else ""))


def languages_caption(stats: dict[str, Any]) -> str:
    count = len(stats.get("documents", {}).get("by_language", {}))
    return (f"Published documents by the language the language stage detected (ISO 639 codes; und:"
            f" undetermined). {count:,} language{'' if count == 1 else 's'}{_ranked_note(count)}.")


def pii_caption(stats: dict[str, Any]) -> str:
    found = {entity: n for entity, n in stats.get("pii", {}).items() if n}
    return (f"Personal data the pii stage found in the published text and replaced with a placeholder:"
            f" {sum(found.values()):,} replacements of {len(found):,} entity type{'' if len(found) == 1 else 's'}.")


def _ranked_note(count: int) -> str:
    return f"; the {plots.TOP - 1} largest are shown and the other {count - plots.TOP + 1:,} summed" \
        if count > plots.TOP else ""


# (id, heading, plot, caption) in page order.
PLOTS: tuple[tuple[str, str, Callable[[dict[str, Any]], str], Caption], ...] = (
    ("sources", "Documents and tokens by source", plots.sources, sources_caption),
    ("licenses", "Documents and tokens by license", plots.licenses, licenses_caption),
    ("removals", "From read to published", plots.removals, removals_caption),
    ("lengths", "Document length", plots.lengths, lengths_caption),
    ("languages", "Language mix", plots.languages, languages_caption),
    ("pii", "Personal data replaced", plots.pii, pii_caption),
)
