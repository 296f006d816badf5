"""README.md and training-content-summary.md (cards/dataset_card.py, cards/content_summary.py): the
demo snapshot's facts are on both, the bytes never vary, `datasets` loads the documents through the
card, degenerate snapshots still give valid cards, and names from the data stay text.

They read the session's run of the e2e recipe (conftest.e2e_snapshot). The loading test needs `datasets` (the
`consumers` extra) and the escaping tests markdown-it-py, a dependency of rich.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from opencorpus import cli
from opencorpus.cards import content_summary, dataset_card
from opencorpus.cards.dataset_card import text
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.snapshot.manifest import check_counts

from conftest import reversed_keys

CARDS = (dataset_card.render, content_summary.render)
CARD_SECTIONS = ["Loading", "Files", "Sources", "Licenses", "Languages and lengths", "Processing",
                 "What was removed and why", "Dead letters", "Personal data", "Tokenizer", "How to verify it",
                 "How to rebuild it", "Is a document in it?", "Removal requests"]
SUMMARY_SECTIONS = ["1. General information", "1.1 Provider identification", "1.2 Model identification",
                    "1.3 Modalities, overall training data size and other characteristics",
                    "2. List of data sources", "2.1 Publicly available datasets",
                    "2.2 Private non-publicly available datasets obtained from third parties",
                    "2.3 Data crawled and scraped from online sources", "2.4 User data", "2.5 Synthetic data",
                    "2.6 Other sources of data", "3. Data processing aspects",
                    "3.1 Respect of reservation of rights from text and data mining exception or limitation",
                    "3.2 Removal of illegal content", "3.3 Other information"]
EVIL_SOURCE = "a|b `c` <script>alert(1)</script>\n# d"
EVIL_LICENSE = "MIT | <b>x</b>\r\n`y` *z*"
EVIL_REASON = "dup|<img src=x onerror=alert(1)>"
# Every element a card may produce once rendered: anything else came from the data.
ALLOWED_TAGS = {"h1", "h2", "h3", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "code", "pre",
                "strong", "em", "a"}
LOADER = """
import json, sys
from datasets import load_dataset
documents = load_dataset(sys.argv[1], split="train")
json.dump({"features": {k: str(v) for k, v in documents.features.items()}, "rows": list(documents)},
          open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def demo(e2e_snapshot: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real run's manifest as `with_cards` hands it to a renderer (no cards in `files`), and its stats."""
    manifest = json.loads((e2e_snapshot / "manifest.json").read_text())
    stats = json.loads((e2e_snapshot / "stats.json").read_text())
    return {**manifest, "files": [f for f in manifest["files"] if f["path"] not in layout.CARDS]}, stats


def snapshot_with(demo: tuple[dict[str, Any], dict[str, Any]],
                  *changes: Callable[[dict[str, Any], dict[str, Any]], None]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo's manifest and stats with `changes` applied, their counts still adding up."""
    manifest, stats = copy.deepcopy(demo)
    for change in changes:
        change(manifest, stats)
    check_counts(manifest["counts"])
    return manifest, stats


def both(manifest: dict[str, Any], stats: dict[str, Any], **fields: Any) -> None:
    """Set fields that manifest and stats both carry."""
    for record in (manifest, stats):
        record.update(copy.deepcopy(fields))


def zero_documents(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    both(manifest, stats, counts={"input": 0, "output": 0, "removed": {}, "dead_letter": {}}, sources={},
         licenses={}, pii={}, inputs=[],
         tokens={"total": 0, "documents": 0, "by_source": {}, "by_license": {}, "by_license_category": {}})
    stats["documents"] = {"characters": 0, "by_length": {}}
    manifest["recipe"]["sources"] = []


def one_source(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    """Only the e2e recipe's `debian` source (license: MIT in the recipe), nothing removed."""
    name, license = "debian", "MIT"
    n, tokens = manifest["sources"][name]["output"], manifest["tokens"]["by_source"][name]
    manifest["recipe"]["sources"] = [s for s in manifest["recipe"]["sources"] if s["name"] == name]
    both(manifest, stats, counts={"input": n, "output": n, "removed": {}, "dead_letter": {}},
         sources={name: {"input": n, "output": n}}, licenses={license: n},
         inputs=[i for i in manifest["inputs"] if i["source"] == name],
         tokens={"total": tokens, "documents": n, "by_source": {name: tokens}, "by_license": {license: tokens},
                 "by_license_category": {"permissive": tokens}})
    stats["documents"].update(by_language={"en": n}, by_license_category={"permissive": n})


def only_noassertion(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    output, tokens = manifest["counts"]["output"], manifest["tokens"]
    both(manifest, stats, licenses={"NOASSERTION": output},
         tokens={**tokens, "by_license": {"NOASSERTION": tokens["total"]},
                 "by_license_category": {"unknown": tokens["total"]}})
    stats["documents"]["by_license_category"] = {"unknown": output}


def stages_off(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    """A recipe with every stage and the tokenizer off: nothing removed, nothing redacted, no tokens."""
    manifest["recipe"]["stages"] = {stage: False for stage in manifest["recipe"]["stages"]}
    manifest["recipe"]["tokenizer"] = False
    output = manifest["counts"]["output"]
    both(manifest, stats, counts={"input": output, "output": output, "removed": {}, "dead_letter": {}}, pii={})
    manifest.update(tokenizer=None, tokens=None)
    del stats["tokens"], stats["tokenizer"], stats["documents"]["by_language"]


def web_source(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    """changelogs read from a WARC file, as `opencorpus crawl` writes them."""
    spec = next(s for s in manifest["recipe"]["sources"] if s["name"] == "changelogs")
    spec.update(format="warc", kind="web", uri="crawl/warc/*.warc.gz")


def taken_down(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    counts = manifest["counts"]
    counts["removed"]["takedown"] = {"request": 2}
    counts["output"] -= 2
    manifest["takedowns"] = [{"version": "v2", "previous": "v1", "previous_digest": "0" * 64,
                              "request": "request-12", "reason": "the author asked", "documents": 2}]


def evil_names(manifest: dict[str, Any], stats: dict[str, Any]) -> None:
    """Markdown, HTML and line breaks in every kind of string a card shows."""
    old = "debian"
    for record in (manifest, stats):
        record["sources"][EVIL_SOURCE] = record["sources"].pop(old)
        record["tokens"]["by_source"][EVIL_SOURCE] = record["tokens"]["by_source"].pop(old)
        record["licenses"][EVIL_LICENSE] = record["licenses"].pop("MIT")
        record["tokens"]["by_license"][EVIL_LICENSE] = record["tokens"]["by_license"].pop("MIT")
        record["counts"]["removed"]["dedup"] = {EVIL_REASON: record["counts"]["removed"]["dedup"]["exact-duplicate"]}
        record["pii"]["<svg/onload=alert(1)>"] = 1
    for entry in manifest["inputs"]:
        if entry["source"] == old:
            entry.update(source=EVIL_SOURCE, path="../a|b/<x>`.jsonl.zst", sha256="`|<i>")
    next(s for s in manifest["recipe"]["sources"] if s["name"] == old)["name"] = EVIL_SOURCE
    manifest.update(corpus=EVIL_SOURCE, version="v1|<i>")
    manifest["dependencies"]["<b>dep</b>"] = "1|2"
    taken_down(manifest, stats)
    manifest["takedowns"][0].update(request=EVIL_SOURCE, reason=EVIL_REASON)


def split_card(card: bytes) -> tuple[dict[str, Any], str]:
    """(front matter, Markdown body) of a dataset card."""
    document = card.decode("utf-8")
    assert document.startswith("---\n")
    front, body = document[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def headings(markdown: str) -> list[str]:
    """The headings outside fenced blocks, without their marks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("#"):
            found.append(line.lstrip("#").strip())
    return found


def commands_in(markdown: str) -> list[str]:
    """Every `opencorpus ...` command: lines of fenced blocks and inline code spans."""
    fenced, found = False, []
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        if fenced and line.startswith("opencorpus "):
            found.append(line)
    return found + re.findall(r"`(opencorpus [^`]*)`", markdown)


class Rendered(HTMLParser):
    """The tags of rendered Markdown and its tables' rows as cell texts."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def rendered(markdown: str) -> Rendered:
    """Markdown as a CommonMark + GFM tables renderer with raw HTML allowed shows it."""
    markdown_it = pytest.importorskip("markdown_it")
    return Rendered(markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))


def shown(value: str) -> str:
    """How a name from the data reads once rendered: one line, as it is."""
    return " ".join(value.split())


def same(loaded: Any, published: Any) -> bool:
    """Equal, floats within one ulp: datasets re-encodes JSON columns with pandas' ujson, whose float
    parsing is not round-trip exact (0.1224 -> 0.12240000000000001)."""
    if isinstance(published, float):
        return isinstance(loaded, float) and abs(loaded - published) <= math.ulp(published)
    if isinstance(published, dict):
        return isinstance(loaded, dict) and loaded.keys() == published.keys() and all(
            same(loaded[k], v) for k, v in published.items())
    if isinstance(published, list):
        return isinstance(loaded, list) and len(loaded) == len(published) and all(map(same, loaded, published))
    return type(loaded) is type(published) and loaded == published


# ---- the demo ---------------------------------------------------------------------------------


def test_dataset_card_states_the_runs_facts(demo) -> None:
    manifest, stats = demo
    front, body = split_card(dataset_card.render(manifest, stats))
    counts = manifest["counts"]
    assert (f"{counts['output']:,} documents" in body and f"{manifest['tokens']['total']:,} tokens" in body
            and f"{counts['input']:,} documents read" in body)
    for spdx, n in manifest["licenses"].items():
        assert f"| {text(spdx)} | {n:,} |" in body
    for stage, reasons in manifest["counts"]["removed"].items():
        for reason, n in reasons.items():
            assert f"| `{stage}` | {reason} | {n:,} |" in body
    for entry in manifest["inputs"]:
        assert f"| {entry['source']} | {entry['path']} | {entry['bytes']:,} | `{entry['sha256']}` |" in body
    assert "opencorpus reproduce <snapshot>" in body and "opencorpus verify <snapshot>" in body
    assert "opencorpus license SHA256 --snapshot <snapshot>" in body and "opencorpus takedown --snapshot" in body
    assert headings(body)[1:] == CARD_SECTIONS
    assert {"mit", "unknown"} <= set(front["license"])
    if "other" in front["license"]:  # an expression or an id the Hub does not list
        assert front["license_name"] == "per-document-spdx" and front["license_link"] == "README.md"
    assert front["language"][0] == "en" and not {"und", "zxx"} & set(front["language"])
    assert front["size_categories"] == ["n<1K"] and front["task_categories"] == ["text-generation"]
    assert front["configs"] == [{"config_name": "default",
                                 "data_files": [{"split": "train", "path": "documents/*.jsonl.zst"}]}]
    assert front["pretty_name"] == "e2e v1"


def test_content_summary_states_the_runs_facts(demo) -> None:
    manifest, stats = demo
    summary = content_summary.render(manifest, stats).decode("utf-8")
    assert headings(summary)[1:] == SUMMARY_SECTIONS
    size = (f"{manifest['tokens']['total']:,} tokens; {manifest['counts']['output']:,} documents, "
            f"{stats['documents']['characters']:,} characters")
    assert f"Less than 1 billion tokens ({size})" in summary
    assert "| Provider name and contact details | **[To be completed by the model provider.]** |" in summary
    for stage, reasons in manifest["counts"]["removed"].items():
        for reason, n in reasons.items():
            assert f"| `{stage}` | {reason} | {n:,} |" in summary
    for name in manifest["sources"]:
        assert f"| {name} |" in summary
    assert f"en {stats['documents']['by_language']['en']:,}" in summary
    assert f"{sum(manifest['pii'].values()):,} values were redacted" in summary
    assert f"| PERSON | {manifest['pii']['PERSON']:,} |" in summary
    assert "None in this snapshot: no source is a web archive" in summary
    assert "opencorpus reproduce <snapshot>" in summary


@pytest.mark.parametrize("render", CARDS, ids=["dataset_card", "content_summary"])
def test_cards_are_the_same_bytes_whatever_the_order_of_keys(demo, render: Callable[..., bytes]) -> None:
    manifest, stats = demo
    before = copy.deepcopy((manifest, stats))
    first = render(manifest, stats)
    assert render(manifest, stats) == first
    assert render(reversed_keys(manifest), reversed_keys(stats)) == first
    assert (manifest, stats) == before, "rendering changed its inputs"
    assert b"/tmp" not in first and b"/work" not in first


def test_commands_on_the_cards_are_the_cli_s(demo) -> None:
    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    manifest, stats = snapshot_with(demo, taken_down, web_source)
    lines = [command for render in CARDS for command in commands_in(render(manifest, stats).decode("utf-8"))]
    assert len(lines) > 10
    for line in lines:
        words = line.split("#", 1)[0].split()
        assert words[1] in commands, line
        flags = {o for action in commands[words[1]]._actions for o in action.option_strings}
        assert {w for w in words if w.startswith("--")} <= flags, line


# ---- loading through the card -----------------------------------------------------------------


def test_datasets_loads_the_documents_through_the_card(demo, e2e_snapshot: Path, tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    manifest, stats = demo
    folder = tmp_path / "v1"
    shutil.copytree(e2e_snapshot, folder)
    os.chmod(folder, 0o755)
    (folder / layout.DATASET_CARD).write_bytes(dataset_card.render(manifest, stats))
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "HF_DATASETS_CACHE": str(tmp_path / "hf" / "datasets"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    out = tmp_path / "loaded.json"
    # A process of its own: datasets reads its offline switches and cache folders when imported.
    subprocess.run([sys.executable, "-c", LOADER, str(folder), str(out)], env=env, check=True, timeout=600,
                   capture_output=True)
    loaded = json.loads(out.read_text())
    published = [row for part in sorted((folder / "documents").glob("*.jsonl.zst")) for row in read_jsonl_zst(str(part))]
    assert len(published) == manifest["counts"]["output"] == len(loaded["rows"])
    assert loaded["features"] == {"id": "Value('string')", "text": "Value('string')", "source": "Value('string')",
                                  "added": "Json(decode=True)", "created": "Json(decode=True)",
                                  "metadata": "Json(decode=True)"}
    for got, row in zip(loaded["rows"], published):
        assert (got["id"], got["text"], got["source"], got["added"], got["created"]) == \
            (row["id"], row["text"], row["source"], row["added"], row["created"])
        assert same(got["metadata"], row["metadata"]), row["id"]


# ---- degenerate snapshots ---------------------------------------------------------------------


@pytest.mark.parametrize("change", [zero_documents, one_source, only_noassertion, stages_off, web_source, taken_down],
                         ids=lambda change: change.__name__)
def test_degenerate_snapshots_give_valid_cards(demo, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    manifest, stats = snapshot_with(demo, change)
    front, body = split_card(dataset_card.render(manifest, stats))
    summary = content_summary.render(manifest, stats).decode("utf-8")
    assert headings(body)[1:] == CARD_SECTIONS and headings(summary)[1:] == SUMMARY_SECTIONS
    assert front["configs"][0]["data_files"] == [{"split": "train", "path": "documents/*.jsonl.zst"}]
    assert front["size_categories"] == ["n<1K"]
    assert f"{manifest['counts']['output']:,} document" in body
    for markdown in (body, summary):
        assert rendered(markdown).tags <= ALLOWED_TAGS


def test_zero_documents_claim_no_license_or_language(demo) -> None:
    front, body = split_card(dataset_card.render(*snapshot_with(demo, zero_documents)))
    assert "license" not in front and "language" not in front
    assert "No documents, so no licenses." in body and "No document was removed." in body


def test_only_noassertion_is_the_hub_s_unknown(demo) -> None:
    manifest, stats = snapshot_with(demo, only_noassertion)
    front, body = split_card(dataset_card.render(manifest, stats))
    assert front["license"] == ["unknown"] and "license_name" not in front
    assert f"{manifest['counts']['output']:,} documents carry `NOASSERTION`" in body


def test_stages_off_say_so(demo) -> None:
    manifest, stats = snapshot_with(demo, stages_off)
    _, body = split_card(dataset_card.render(manifest, stats))
    summary = content_summary.render(manifest, stats).decode("utf-8")
    assert "| `license` | off |" in body and "The PII stage was off" in body
    assert "the recipe's tokenizer is off" in body
    assert f"Not counted in tokens: the snapshot has no tokenizer ({manifest['counts']['output']:,} documents" in summary
    assert "the PII stage was off" in summary and "No license policy ran" in summary


def test_web_sources_get_the_crawler_s_policy(demo) -> None:
    summary = content_summary.render(*snapshot_with(demo, web_source)).decode("utf-8")
    crawled = summary.split("### 2.3", 1)[1].split("### 2.4", 1)[0]
    assert "| changelogs | web | warc |" in crawled
    assert "robots token: opencorpus" in crawled and "TDMRep" in crawled and "`noai`" in crawled
    assert "not counted in the snapshot's stats" in crawled
    assert "| changelogs |" not in summary.split("### 2.1", 1)[1].split("### 2.2", 1)[0]


def test_takedowns_are_listed(demo) -> None:
    manifest, stats = snapshot_with(demo, taken_down)
    _, body = split_card(dataset_card.render(manifest, stats))
    assert "| v2 | v1 | request-12 | the author asked | 2 |" in body
    assert "| `takedown` | request | 2 |" in body and "takedowns are replayed on the rebuild" in body
    assert "| v2 | request-12 | the author asked | 2 |" in content_summary.render(manifest, stats).decode()


# ---- names from the data ----------------------------------------------------------------------


@pytest.mark.parametrize("render", CARDS, ids=["dataset_card", "content_summary"])
def test_names_from_the_data_stay_text(demo, render: Callable[..., bytes]) -> None:
    manifest, stats = snapshot_with(demo, evil_names)
    document = render(manifest, stats).decode("utf-8")
    if render is dataset_card.render:
        front, document = split_card(document.encode())
        assert front["pretty_name"] == shown(f"{EVIL_SOURCE} v1|<i>")
        assert headings(document)[1:] == CARD_SECTIONS
    else:
        assert headings(document)[1:] == SUMMARY_SECTIONS
    page = rendered(document)
    assert page.tags <= ALLOWED_TAGS
    firsts = {row[0]: row for row in page.rows if row}
    assert shown(EVIL_SOURCE) in firsts
    assert ["dedup", EVIL_REASON, f"{manifest['counts']['removed']['dedup'][EVIL_REASON]:,}"] in page.rows
    if render is dataset_card.render:
        licensed = [manifest["licenses"][EVIL_LICENSE], manifest["tokens"]["by_license"][EVIL_LICENSE]]
        assert firsts[shown(EVIL_LICENSE)] == [shown(EVIL_LICENSE), *(f"{n:,}" for n in licensed)]
        size = next(i["bytes"] for i in manifest["inputs"] if i["source"] == EVIL_SOURCE)
        assert [shown(EVIL_SOURCE), "../a|b/<x>`.jsonl.zst", f"{size:,}", "`|<i>"] in page.rows
        assert firsts["<b>dep</b>"] == ["<b>dep</b>", "1|2"]
    assert [shown(EVIL_SOURCE), EVIL_REASON, "2"] in [row[-3:] for row in page.rows if row[0] == "v2"]
    assert firsts["<svg/onload=alert(1)>"][1] == "1"


# ---- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spdx, hub", [
    ("MIT", "mit"), ("Apache-2.0", "apache-2.0"), ("GPL-2.0-or-later", "gpl-2.0"), ("LGPL-2.0-only", "lgpl"),
    ("BSD-4-Clause", "bsd"), ("CC-BY-SA-4.0", "cc-by-sa-4.0"), ("CC-BY-SA-2.0", "cc"), ("ODbL-1.0", "odbl"),
    ("NOASSERTION", "unknown"), ("BSD-3-Clause OR GPL-2.0-only", "other"), ("LicenseRef-Public-Domain", "other"),
    ("GPL-3.0-or-later WITH Texinfo-exception", "other"), ("Beerware", "other"), ("AGPL-1.0", "other"),
])
def test_hub_license_ids(spdx: str, hub: str) -> None:
    assert dataset_card.hub_license(spdx) == hub


@pytest.mark.parametrize("documents, category", [
    (0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (9999, "1K<n<10K"), (10**6, "1M<n<10M"),
    (10**12 - 1, "100B<n<1T"), (10**12, "n>1T"),
])
def test_size_categories(documents: int, category: str) -> None:
    assert dataset_card.size_category(documents) == category


def test_text_keeps_snake_case_and_neutralises_the_rest() -> None:
    assert text("nlp_model") == "nlp_model"
    assert text("_x_ a|b `c` <b> & *d*\n[e](f) $g$ #h") == r"\_x\_ a\|b \`c\` &lt;b&gt; &amp; \*d\* \[e\](f) \$g\$ \#h"
    assert dataset_card.code("tokens/order.npy") == "`tokens/order.npy`"
    assert dataset_card.code("a`b|c") == r"a\`b\|c"
