"""The plots of a version's card page, from its stats.json: one pure function per plot.

Each returns an SVG element ready to inline in HTML, with a <title> and a <desc> that list what
it shows (the text alternative), and is never empty: no data gives a short note saying so.

Figures are `matplotlib.figure.Figure`, never pyplot, so nothing global outlives a call but
the rcParams each plot sets inside its own `rc_context`. The SVG is part of the byte-identical
contract: a fixed hash salt per plot names its clip paths and markers (distinct per plot, so
ids stay unique on the page), no metadata block is written (it would hold the date), and text
stays <text>: matplotlib escapes it, and mathtext is off so a "$" in a name is just a "$".
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator
from matplotlib.typing import RcKeyType

from opencorpus.recipe import LICENSE_CATEGORIES, STAGE_DEFAULTS

WIDTH = 7.0  # inches: 504 pt, at most 672 px wide on the page
ROW = 0.27  # inches per bar of a horizontal bar chart
TOP = 12  # bars per ranked chart; the rest are summed into one last bar
LABEL_CHARS = 34  # longer names are cut on the axis; the plot's <desc> holds them whole
COLORS = {"read": "#c6dbef", "documents": "#2171b5", "tokens": "#e6550d", "plain": "#4a6fa5",
          "input": "#6b8fc7", "removed": "#d6604d", "dead_letter": "#7b3294", "output": "#1a9850"}
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none", "text.parse_math": False,
    # One named family, so each <text> names it once; browsers fall back to their sans-serif.
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"], "font.size": 9,
    "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 9.5,
    "axes.titlelocation": "left", "axes.edgecolor": "#666666", "xtick.color": "#333333",
    "ytick.color": "#333333", "legend.frameon": False, "legend.fontsize": 8.5,
}
# None drops each default: with nothing left, no <metadata> (date, creator URL) is written.
NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
COUNT = "{x:,.0f}"  # tick labels as counts: 150,000 (a str becomes a fresh formatter per axis)

Group = tuple[str, tuple[str, ...]]  # a bar's label and the keys it sums


def sources(stats: dict[str, Any]) -> str:
    """Documents read and published per source, and tokens published per source."""
    counts = stats.get("sources", {})
    published = {name: c["output"] for name, c in counts.items()}
    read = {name: c["input"] for name, c in counts.items()}
    groups = ranked(published)
    tokens = stats.get("tokens", {}).get("by_source")
    title = "Documents and tokens by source"
    if not any(read.values()):
        return _nothing("sources", title, "No documents were read.")
    rows = [f"{label}: {total(published, keys):,} of {total(read, keys):,} documents published"
            + (f", {total(tokens, keys):,} tokens" if tokens is not None else "") for label, keys in groups]
    return _bar_panels("sources", title, "; ".join(rows) + ".", groups,
                       [("Documents published / read", published, "documents", read)]
                       + ([("Tokens", tokens, "tokens", None)] if tokens is not None else []))


def licenses(stats: dict[str, Any]) -> str:
    """Documents and tokens by license category, least to most restrictive; by license
    expression (the most common) when no license policy ran to give categories."""
    documents = stats.get("documents", {}).get("by_license_category", {})
    tokens = stats.get("tokens", {}).get("by_license_category")
    groups: list[Group]
    if documents:
        title = "Documents and tokens by license category"
        groups = [(c, (c,)) for c in sorted(documents, key=_category_position)]
    else:
        title, documents = "Documents and tokens by license", stats.get("licenses", {})
        tokens = stats.get("tokens", {}).get("by_license")
        groups = ranked(documents)
    if not groups:
        return _nothing("licenses", title, "No documents.")
    rows = [f"{label}: {total(documents, keys):,} documents"
            + (f", {total(tokens, keys):,} tokens" if tokens is not None else "") for label, keys in groups]
    return _bar_panels("licenses", title, "; ".join(rows) + ".", groups,
                       [("Documents", documents, "documents", None)]
                       + ([("Tokens", tokens, "tokens", None)] if tokens is not None else []))


def removals(stats: dict[str, Any]) -> str:
    """Waterfall from the documents read, down by each stage's removals per reason (pipeline
    order) and the dead letters, to the documents published."""
    steps = waterfall_steps(stats["counts"])
    title = "From documents read to documents published"
    if stats["counts"]["input"] == 0:
        return _nothing("removals", title, "No documents were read.")
    description = "; ".join(f"{label}: {'−' if kind in ('removed', 'dead_letter') else ''}{n:,}"
                            for label, kind, _, n in steps) + "."

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        y = range(len(steps))
        for kind, name in (("input", "read"), ("removed", "removed"), ("dead_letter", "dead letter"),
                           ("output", "published")):
            bars = [(i, left, n) for i, (_, k, left, n) in enumerate(steps) if k == kind]
            if not bars:
                continue
            drawn = ax.barh([i for i, _, _ in bars], [n for *_, n in bars], left=[left for _, left, _ in bars],
                            height=0.7, color=COLORS[kind], label=name)
            sign = "−" if kind in ("removed", "dead_letter") else ""
            ax.bar_label(drawn, labels=[f"{sign}{n:,}" for *_, n in bars], padding=3, fontsize=8)
        ax.set_yticks(list(y), [_short(label) for label, *_ in steps])
        ax.invert_yaxis()
        ax.set_xlim(0, stats["counts"]["input"] * 1.12)
        ax.xaxis.set_major_formatter(COUNT)
        ax.set_xlabel("documents")
        fig.legend(loc="outside upper right", ncols=4)

    return _svg("removals", title, description, 0.95 + ROW * len(steps), draw)


def lengths(stats: dict[str, Any]) -> str:
    """Histogram of published document lengths in characters: the power-of-two bins of
    stats.json on a log axis (empty documents, bin "0", have no place on it)."""
    bins = sorted((int(lower), n) for lower, n in stats.get("documents", {}).get("by_length", {}).items()
                  if lower != "0" and n)
    title = "Document length"
    if not bins:
        return _nothing("lengths", title, "No non-empty documents.")
    description = "; ".join(f"{_size(lower)}–{_size(2 * lower)} characters: {n:,} documents"
                            for lower, n in bins) + "."

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        bars = ax.bar([lower for lower, _ in bins], [n for _, n in bins], width=[lower for lower, _ in bins],
                      align="edge", color=COLORS["plain"], edgecolor="white", linewidth=0.6)
        ax.bar_label(bars, labels=[f"{n:,}" for _, n in bins], padding=2, fontsize=7)
        ax.set_xscale("log", base=2)
        lowest, highest = bins[0][0], 2 * bins[-1][0]
        ticks = [1 << e for e in range(0, highest.bit_length(), 2) if lowest <= 1 << e <= highest]
        ax.set_xticks(ticks, [_size(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(lowest, highest)
        ax.set_ylim(0, max(n for _, n in bins) * 1.12)
        ax.yaxis.set_major_formatter(COUNT)
        ax.set_xlabel("characters (power-of-two bins; K = 1,024)")
        ax.set_ylabel("documents")

    return _svg("lengths", title, description, 2.9, draw)


def languages(stats: dict[str, Any]) -> str:
    """Published documents per detected language: the most common, the rest summed."""
    counts = {language: n for language, n in stats.get("documents", {}).get("by_language", {}).items() if n}
    title = "Language mix"
    if not counts:
        return _nothing("languages", title, "No languages recorded (the language stage did not run).")
    return _ranked_bars("languages", title, counts, "documents")


def pii(stats: dict[str, Any]) -> str:
    """Personal data replaced by placeholders in the published text, per entity type."""
    counts = {entity: n for entity, n in stats.get("pii", {}).items() if n}
    title = "Personal data replaced, by type"
    if not counts:
        return _nothing("pii", title, "No personal data was found (or the pii stage did not run).")
    return _ranked_bars("pii", title, counts, "replacements")


def ranked(counts: Mapping[str, int], limit: int = TOP) -> list[Group]:
    """Bars by count, largest first (ties by name); past `limit`, the rest as one last bar."""
    keys = sorted(counts, key=lambda k: (-counts[k], k))
    if len(keys) <= limit:
        return [(k, (k,)) for k in keys]
    rest = tuple(keys[limit - 1:])
    return [(k, (k,)) for k in keys[:limit - 1]] + [(f"{len(rest)} others", rest)]


def total(counts: Mapping[str, int], keys: tuple[str, ...]) -> int:
    return sum(counts.get(k, 0) for k in keys)


def waterfall_steps(counts: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(label, kind, left, n) per bar: read, every removal and dead letter by stage (pipeline
    order) and reason, each starting where the documents left after it end, then published."""
    steps = [("read", "input", 0, counts["input"])]
    remaining = counts["input"]
    for kind in ("removed", "dead_letter"):
        for stage in sorted(counts[kind], key=_stage_position):
            for reason, n in sorted(counts[kind][stage].items()):
                remaining -= n
                prefix = "dead letter, " if kind == "dead_letter" else ""
                steps.append((f"{prefix}{stage}: {reason}", kind, remaining, n))
    return steps + [("published", "output", 0, counts["output"])]


def _ranked_bars(name: str, title: str, counts: Mapping[str, int], unit: str) -> str:
    groups = ranked(counts)
    whole = sum(counts.values())
    shares = [(label, total(counts, keys)) for label, keys in groups]
    description = "; ".join(f"{label}: {n:,} {unit} ({n / whole:.1%})" for label, n in shares) + "."

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        _hbars(ax, [label for label, _ in shares], [n for _, n in shares], COLORS["plain"],
               texts=[f"{n:,} ({n / whole:.1%})" for _, n in shares])
        ax.set_xlabel(unit)

    return _svg(name, title, description, 0.75 + ROW * len(groups), draw)


def _bar_panels(name: str, title: str, description: str, groups: list[Group],
                panels: list[tuple[str, Mapping[str, int], str, Mapping[str, int] | None]]) -> str:
    """Side by side, one horizontal bar chart per (heading, counts, color, counts the bars continue to)."""
    labels = [label for label, _ in groups]

    def draw(fig: Figure) -> None:
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, (heading, counts, color, behind) in zip(axes, panels):
            values = [total(counts, keys) for _, keys in groups]
            backs = [total(behind, keys) for _, keys in groups] if behind is not None else None
            _hbars(ax, labels, values, COLORS[color], backs)
            ax.set_title(heading)

    return _svg(name, title, description, 0.85 + ROW * len(groups), draw)


def _hbars(ax: Axes, labels: list[str], values: list[int], color: str, behind: list[int] | None = None,
           texts: list[str] | None = None) -> None:
    """Bars top to bottom in the order given, each with its text (by default its count); with
    `behind`, a light bar continues each to that count and the text is "value / behind"."""
    y = range(len(values))
    bars = ax.barh(y, values, height=0.7, color=color)
    if behind is not None:
        texts = [f"{v:,} / {b:,}" if v != b else f"{v:,}" for v, b in zip(values, behind)]
        bars = ax.barh(y, [max(b - v, 0) for v, b in zip(values, behind)], left=values, height=0.7, color=COLORS["read"])
    ax.bar_label(bars, labels=texts or [f"{v:,}" for v in values], padding=3, fontsize=7.5)
    ax.set_yticks(y, [_short(label) for label in labels])
    if not ax.yaxis_inverted():  # shared y: the first panel already turned it
        ax.invert_yaxis()
    ax.set_xlim(0, max(*(behind or values), 1) * 1.3)
    ax.xaxis.set_major_formatter(COUNT)
    ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))


def _nothing(name: str, title: str, message: str) -> str:
    def draw(fig: Figure) -> None:
        fig.text(0.5, 0.5, message, ha="center", va="center", color="#555555", fontsize=10)

    return _svg(name, title, message, 0.6, draw)


def _svg(name: str, title: str, description: str, height: float, draw: Callable[[Figure], None]) -> str:
    """Draw a WIDTH x height figure with the plot's rcParams; its SVG, ready to inline."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"opencorpus-{name}", "svg.id": f"plot-{name}"}):
        fig = Figure(figsize=(WIDTH, height), layout="constrained")
        draw(fig)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata=NO_METADATA)
    return _inline(out.getvalue(), title, description)


def _inline(svg: str, title: str, description: str) -> str:
    """The <svg> element alone (no XML prolog or DOCTYPE), an image named by its <title> and
    described by its <desc>; matplotlib's group ids ("axes_1" in every plot) dropped, as
    nothing refers to them and they would repeat on the page."""
    svg = re.sub(r'<g id="[^"]*"', "<g", svg[svg.index("<svg"):])
    opening, rest = svg.split(">", 1)  # attribute values escape ">", so this ends the tag
    return (f'{opening} role="img">\n <title>{escape(title, quote=False)}</title>\n'
            f' <desc>{escape(description, quote=False)}</desc>{rest}')


def _short(label: str) -> str:
    """A name fit for an axis: unprintable characters shown as "?", and past LABEL_CHARS its
    middle cut, as names that share a start ("source-part-01", "source-part-02") differ at the end."""
    shown = "".join(c if c.isprintable() else "?" for c in label)
    if len(shown) <= LABEL_CHARS:
        return shown
    head = (LABEL_CHARS - 1) // 2
    return shown[:head] + "…" + shown[len(shown) - (LABEL_CHARS - 1 - head):]


def _size(characters: int) -> str:
    """1, 16, 512, 1K, 64K, 1M: a power of two in the fewest characters."""
    for unit, scale in (("M", 1 << 20), ("K", 1 << 10)):
        if characters >= scale:
            return f"{characters // scale}{unit}"
    return str(characters)


def _stage_position(stage: str) -> tuple[int, str]:
    """Pipeline order for recipe stages; any other stage (reading, tokenizing) after, by name."""
    order = list(STAGE_DEFAULTS)
    return (order.index(stage) if stage in order else len(order), stage)


def _category_position(category: str) -> tuple[int, str]:
    order = list(LICENSE_CATEGORIES)
    return (order.index(category) if category in order else len(order), category)
