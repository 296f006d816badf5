"""card.html (cards/page.py, cards/plots.py): a real run's page in headless Chromium,
the same bytes in every process, a valid page for degenerate stats, and names that stay text.

The Chromium tests need Debian's `chromium` and `chromium-driver`, like tests/test_page.py, and
the session's e2e run (conftest.e2e_snapshot) for the real page.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from opencorpus.cards import page, plots
from opencorpus.snapshot.manifest import check_counts

from conftest import chromium, needs_chromium

PLOTS = len(page.PLOTS)
EVIL_SOURCE = "<script>alert(1)</script>"
EVIL_LICENSE = "&\"'<>"
MATHTEXT = "$\\frac{x$"  # mathtext would fail to parse it; it must be drawn as it is
# The only URLs a page may hold: the namespaces of the inline SVG, which are names, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
# Elements with no end tag in HTML; in the inline SVG every element is closed or self-closed.
VOID = {"meta", "link", "br", "hr", "img", "input"}



def read_run(version: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return (json.loads((version / "manifest.json").read_text()), json.loads((version / "stats.json").read_text()))


def base_stats() -> dict[str, Any]:
    """stats.json of a small run that used every stage and a tokenizer; counts add up."""
    return {
        "counts": {"input": 120, "output": 100, "removed": {"dedup": {"exact-duplicate": 12}, "quality": {"too-short": 5}},
                   "dead_letter": {"read": {"unreadable": 3}}},
        "sources": {"code": {"input": 70, "output": 60}, "web": {"input": 50, "output": 40}},
        "licenses": {"MIT": 60, "NOASSERTION": 40},
        "pii": {"EMAIL_ADDRESS": 9, "PERSON": 4},
        "tokens": {"total": 5000, "documents": 100, "by_source": {"code": 3000, "web": 2000},
                   "by_license": {"MIT": 3500, "NOASSERTION": 1500},
                   "by_license_category": {"permissive": 3500, "unknown": 1500}},
        "documents": {"characters": 40000, "by_length": {"0": 1, "64": 30, "256": 50, "1024": 19},
                      "by_language": {"en": 90, "de": 10}, "by_license_category": {"permissive": 60, "unknown": 40}},
        "tokenizer": {"origin": "train", "vocab_size": 8192, "eos": "<|endoftext|>", "formats": ["megatron"]},
    }


def manifest_of(stats: dict[str, Any], corpus: str = "cards") -> dict[str, Any]:
    """The manifest fields a page reads."""
    return {"corpus": corpus, "version": "v1", "date": "2026-11-01", "code": {"opencorpus": "0.1.0"},
            "tokenizer": stats.get("tokenizer")}


def zero_documents(stats: dict[str, Any]) -> None:
    stats.update(counts={"input": 0, "output": 0, "removed": {}, "dead_letter": {}},
                 sources={"only": {"input": 0, "output": 0}}, licenses={}, pii={},
                 documents={"characters": 0, "by_length": {}})
    del stats["tokens"], stats["tokenizer"]


def one_source(stats: dict[str, Any]) -> None:
    stats["sources"] = {"code": {"input": 120, "output": 100}}
    stats["tokens"]["by_source"] = {"code": 5000}


def only_noassertion(stats: dict[str, Any]) -> None:
    stats["licenses"] = {"NOASSERTION": 100}
    stats["tokens"].update(by_license={"NOASSERTION": 5000}, by_license_category={"unknown": 5000})
    stats["documents"]["by_license_category"] = {"unknown": 100}


def no_tokenizer(stats: dict[str, Any]) -> None:
    del stats["tokens"], stats["tokenizer"]


def no_policy_language_or_pii(stats: dict[str, Any]) -> None:
    del stats["documents"]["by_license_category"], stats["documents"]["by_language"], stats["tokens"]["by_license_category"]
    stats["pii"] = {}


def everything_removed(stats: dict[str, Any]) -> None:
    stats["counts"].update(output=0, removed={"quality": {"too-short": 117}})
    stats["sources"] = {"code": {"input": 70, "output": 0}, "web": {"input": 50, "output": 0}}
    stats["licenses"], stats["pii"] = {}, {}
    stats["documents"] = {"characters": 0, "by_length": {}}
    stats["tokens"] = {"total": 0, "documents": 0, "by_source": {}}


def hostile(stats: dict[str, Any]) -> None:
    """Names that are markup, an entity, quotes and mathtext, in every place a name can be."""
    stats["sources"] = {EVIL_SOURCE: {"input": 70, "output": 60}, MATHTEXT: {"input": 50, "output": 40}}
    stats["tokens"]["by_source"] = {EVIL_SOURCE: 3000, MATHTEXT: 2000}
    stats["licenses"] = {EVIL_LICENSE: 60, "NOASSERTION": 40}
    stats["tokens"]["by_license"] = {EVIL_LICENSE: 3500, "NOASSERTION": 1500}
    stats["counts"]["removed"] = {EVIL_SOURCE: {EVIL_LICENSE: 17}}
    stats["documents"]["by_language"] = {EVIL_SOURCE: 90, EVIL_LICENSE: 10}
    stats["documents"]["by_license_category"] = {EVIL_LICENSE: 100}
    stats["pii"] = {EVIL_SOURCE: 3}
    stats["tokenizer"]["eos"] = EVIL_SOURCE


def varied(change) -> dict[str, Any]:
    stats = base_stats()
    change(stats)
    check_counts(stats["counts"])
    return stats


class Structure(HTMLParser):
    """Tags as the browser's parser sees them: fails on an end tag that closes the wrong element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: bytes) -> Structure:
    parser = Structure()
    parser.feed(html.decode("utf-8"))
    parser.close()
    assert parser.open == [], f"never closed: {parser.open}"
    return parser


def check_page(html: bytes) -> Structure:
    """Well nested, one figure and one titled svg per plot, ids unique, nothing to fetch or run."""
    parsed = parse(html)
    names = [tag for tag, _ in parsed.tags]
    assert names.count("figure") == names.count("svg") == names.count("figcaption") == PLOTS
    assert names.count("title") == 1 + PLOTS and names.count("desc") == PLOTS  # the page's, one per svg
    assert "script" not in names and "img" not in names and "link" not in names
    ids = [str(attrs["id"]) for _, attrs in parsed.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert set(re.findall(r"https?://[^\s\"'<>)]*", html.decode("utf-8"))) <= NAMESPACES
    return parsed


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    flags = ["--hide-scrollbars", "--window-size=900,900"]
    with chromium(tmp_path_factory.mktemp("chromium-profile"), flags, console_log=True) as driver:
        yield driver


def open_page(driver, html: bytes, folder: Path) -> None:
    """Load the page from a file (nothing served) and fail on an alert or any console message
    worse than info: the page has nothing to run, so nothing should complain."""
    from selenium.common.exceptions import NoAlertPresentException

    path = folder / "card.html"
    path.write_bytes(html)
    driver.get_log("browser")  # drop what an earlier page logged
    driver.get(path.as_uri())
    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert  # the property raises when no alert is open
    assert [e for e in driver.get_log("browser") if e["level"] not in ("INFO", "DEBUG")] == []
    assert driver.execute_script("return document.scripts.length") == 0
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def plot_boxes(driver) -> list[dict[str, float]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().toJSON())")


def drawn_colors(driver, svg_id: str) -> int:
    """How many colours the browser painted for one plot: a blank box has one."""
    import io

    from PIL import Image
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, svg_id)
    driver.execute_script("arguments[0].scrollIntoView()", element)
    image = Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")
    return len(image.getcolors(maxcolors=1 << 20) or [])


@needs_chromium
def test_a_runs_page_renders_every_plot_in_chromium(browser, e2e_snapshot, tmp_path):
    manifest, stats = read_run(e2e_snapshot)
    html = page.render(manifest, stats)
    check_page(html)
    assert len(html) < 500_000
    open_page(browser, html, tmp_path)
    assert browser.title == f"{manifest['corpus']} {manifest['version']} · data card"
    boxes = plot_boxes(browser)
    assert len(boxes) == PLOTS
    assert all(box["width"] > 300 and box["height"] > 80 for box in boxes), boxes
    for name, *_ in page.PLOTS:
        assert drawn_colors(browser, f"plot-{name}") > 8, name
    body = browser.execute_script("return document.body.innerText")
    assert f"{stats['counts']['output']:,} published of {stats['counts']['input']:,} read" in body
    assert "changelogs" in browser.execute_script(
        "return [...document.querySelectorAll('#plot-sources text')].map(t => t.textContent).join(' ')")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(900, height + 150)  # the window's own frame takes some of it
    screenshot = tmp_path / "card.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 100_000


@needs_chromium
def test_hostile_names_stay_text_in_chromium(browser, tmp_path):
    stats = varied(hostile)
    html = page.render(manifest_of(stats, corpus=EVIL_SOURCE), stats)
    open_page(browser, html, tmp_path)
    assert browser.title.startswith(EVIL_SOURCE)
    svg_text = browser.execute_script(
        "return [...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n')")
    assert EVIL_SOURCE in svg_text and EVIL_LICENSE in svg_text and MATHTEXT in svg_text
    assert all(box["height"] > 40 for box in plot_boxes(browser))


def test_hostile_names_are_escaped_everywhere():
    stats = varied(hostile)
    html = page.render(manifest_of(stats, corpus=EVIL_SOURCE), stats)
    parsed = check_page(html)
    text = html.decode("utf-8")
    assert "<script" not in text.lower() and EVIL_LICENSE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    shown = "".join(parsed.text)
    assert shown.count(EVIL_SOURCE) >= 8  # title, heading, summary, each plot's desc and labels
    assert EVIL_LICENSE in shown and MATHTEXT in shown


def test_same_bytes_twice_and_in_another_process(tmp_path):
    stats = base_stats()
    manifest = manifest_of(stats)
    first = page.render(manifest, stats)
    assert page.render(copy.deepcopy(manifest), copy.deepcopy(stats)) == first
    (tmp_path / "inputs.json").write_text(json.dumps([manifest, stats]))
    script = ("import json, sys; from opencorpus.cards import page; manifest, stats = json.load(open(sys.argv[1]));"
              " sys.stdout.buffer.write(page.render(manifest, stats))")
    for seed in ("1", "4242"):
        other = subprocess.run([sys.executable, "-c", script, str(tmp_path / "inputs.json")], check=True,
                               capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert other == first


def test_plot_ids_differ_between_plots_and_svgs_are_xml():
    stats = base_stats()
    for name, _, draw, _ in page.PLOTS:
        svg = draw(stats)
        root = ET.fromstring(svg)
        assert root.get("id") == f"plot-{name}" and root.get("role") == "img"
        assert root[0].tag.endswith("title") and root[1].tag.endswith("desc")
        assert "<metadata" not in svg and "Date" not in svg


@pytest.mark.parametrize("change", [zero_documents, one_source, only_noassertion, no_tokenizer,
                                    no_policy_language_or_pii, everything_removed], ids=lambda f: f.__name__)
def test_degenerate_stats_give_a_valid_page(change):
    stats = varied(change)
    parsed = check_page(page.render(manifest_of(stats), stats))
    shown = " ".join(" ".join(parsed.text).split())
    if "tokens" not in stats:
        assert "none (no tokenizer)" in shown
    if change is zero_documents:
        assert "No documents were read." in shown and "No non-empty documents." in shown


def test_waterfall_steps_and_ranking():
    assert plots.waterfall_steps(base_stats()["counts"]) == [
        ("read", "input", 0, 120), ("quality: too-short", "removed", 115, 5), ("dedup: exact-duplicate", "removed", 103, 12),
        ("dead letter, read: unreadable", "dead_letter", 100, 3), ("published", "output", 0, 100)]
    assert plots.ranked({"a": 3, "b": 3, "c": 1}, limit=2) == [("a", ("a",)), ("2 others", ("b", "c"))]
