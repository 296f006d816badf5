"""License benchmark: the opencorpus `license` stage on the labelled sets of ../shared/corpora
(code/libzstd with its DEP-5 file, licenses/license_notices, web/python-docs, web/debian-handbook).

Exact-expression accuracy: the stage's metadata.license is equivalent (license-expression) to the
truth, or for the notices to one of the ids the labels also accept (`also_acceptable`: rows whose
text fits several ids equally, see the corpora README). NOASSERTION rate: share of documents with no
license found. Speed: documents per second on one core (this one process), after the index is built
(its build time is printed apart). Anchors, same documents, same process: the stage without the
tree's DEP-5 file (what the files themselves say), and pyaskalono's `identify` (a full-text matcher)
on the notices when installed.

    python benchmarks/bench_licenses.py --corpora ../shared/corpora
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import zstandard

from opencorpus.document import Document
from opencorpus.stages.license import NOASSERTION, LicenseOptions, LicenseTagger
from opencorpus.stages.licenses.matcher import license_index
from opencorpus.stages.licenses.normalize import equivalent
from opencorpus.stages.licenses.trees import license_file


def load(path: Path) -> list[dict]:
    with path.open("rb") as f:
        data = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8")
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def tag(docs: list[Document], options: LicenseOptions) -> tuple[list[Document], float]:
    tagger = LicenseTagger(options, {})
    tagger.setup()
    start = time.perf_counter()
    out = [d for doc in docs for d in tagger.process(doc)]
    return out, time.perf_counter() - start


def is_right(got: str, want: str, also: list[str] = ()) -> bool:
    return got != NOASSERTION and any(equivalent(got, w) for w in [want, *also])


def score(rows: list[tuple[str, str]], also: list[list[str]] | None = None) -> tuple[float, float]:
    """(exact accuracy, NOASSERTION rate) over (predicted, truth) pairs; `also`: per pair, the other
    expressions that count as right."""
    if not rows:
        return float("nan"), float("nan")
    exact = sum(1 for (got, want), more in zip(rows, also or [[]] * len(rows)) if is_right(got, want, more))
    return exact / len(rows), sum(1 for got, _ in rows if got == NOASSERTION) / len(rows)


def line(name: str, n: int, acc: float, noassert: float, speed: str) -> str:
    return f"| {name} | {n} | {acc:.3f} | {noassert:.3f} | {speed} |"


def code_rows(corpora: Path) -> list[str]:
    records = load(corpora / "code" / "libzstd.jsonl.zst")
    dep5 = license_file("debian/copyright", (corpora / "code" / "libzstd.copyright").read_bytes())
    out = []
    for label, trees in (("opencorpus (DEP-5 by path + file)", {"libzstd": [dep5]}),
                         ("anchor: opencorpus, files alone (no DEP-5)", {})):
        docs = [Document(id=r["id"], text=r["text"], source="libzstd", metadata={"path": r["path"]}) for r in records]
        tagged, seconds = tag(docs, LicenseOptions(trees=trees))
        pairs = [(d.metadata["license"], r["truth_license"], bool(r["label_conflict"])) for d, r in zip(tagged, records)]
        clean = [(g, w) for g, w, c in pairs if not c]
        noisy = [(g, w) for g, w, c in pairs if c]
        speed = f"{len(docs) / seconds:,.0f}"
        out.append(line(f"code/libzstd, {label}", len(clean), *score(clean), speed))
        out.append(line(f"code/libzstd label_conflict rows, {label}", len(noisy), *score(noisy), speed))
        if trees:
            conflicts = sum(1 for d in tagged if d.metadata.get("license_conflict"))
            out.append(f"| (conflicts flagged: {conflicts} documents) | | | | |")
        else:  # the matcher alone, where the file states its license in prose
            noticed = [(g, w) for (g, w, c), r in zip(pairs, records) if r["in_file_notice"] and not c]
            out.append(line(f"code/libzstd files with an in-file notice, {label}", len(noticed), *score(noticed), speed))
    return out


def notice_rows(corpora: Path) -> list[str]:
    records = load(corpora / "licenses" / "license_notices.jsonl.zst")
    docs = [Document(id=r["id"], text=r["text"], source="notices") for r in records]
    tagged, seconds = tag(docs, LicenseOptions())
    pairs = [(d.metadata["license"], r["truth_license"]) for d, r in zip(tagged, records)]
    also = [r.get("also_acceptable") or [] for r in records]
    out = [line("licenses/license_notices, opencorpus", len(pairs), *score(pairs, also), f"{len(docs) / seconds:,.0f}")]
    single = [p for p, more in zip(pairs, also) if not more]
    out.append(line("licenses/license_notices, rows with a single acceptable id", len(single), *score(single), ""))
    missed = [r["id"] for (g, w), more, r in zip(pairs, also, records) if not is_right(g, w, more)]
    out.append(f"| (misses: {', '.join(missed) or 'none'}) | | | | |")
    try:
        import askalono
    except ImportError:
        return out + ["| anchor: pyaskalono (not installed) | | | | |"]
    start = time.perf_counter()
    found = [askalono.identify(r["text"]) for r in records]
    seconds = time.perf_counter() - start
    pairs = [(m.name if m and m.score >= 0.8 else NOASSERTION, r["truth_license"]) for m, r in zip(found, records)]
    return out + [line("licenses/license_notices, anchor: pyaskalono identify", len(pairs), *score(pairs, also),
                       f"{len(records) / seconds:,.0f}")]


def web_rows(corpora: Path) -> list[str]:
    out = []
    for site in ("python-docs", "debian-handbook"):
        truth_path = corpora / "web" / f"{site}.truth.jsonl"
        if not (corpora / "web" / site).is_dir() or not truth_path.exists():
            out.append(f"| web/{site}: not in this copy of the corpora | | | | |")
            continue
        truth = [json.loads(x) for x in truth_path.read_text("utf-8").splitlines() if x.strip()]
        docs = []
        for t in truth:
            raw = (corpora / "web" / site / t["path"]).read_text("utf-8", errors="replace")
            docs.append(Document(id=f"{site}/{t['path']}", text="", raw=raw, source=site, kind="web"))
        tagged, seconds = tag(docs, LicenseOptions())
        stated = [(d.metadata["license"], t["license"]) for d, t in zip(tagged, truth) if t["license_statement_on_page"]]
        rest = [(d.metadata["license"], t["license"]) for d, t in zip(tagged, truth) if not t["license_statement_on_page"]]
        speed = f"{len(docs) / seconds:,.0f}"
        out.append(line(f"web/{site}, pages with a license statement", len(stated), *score(stated), speed))
        if rest:
            out.append(line(f"web/{site}, pages without one (site-wide license)", len(rest), *score(rest), speed))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    index = license_index()
    print(f"index: {len(index.references)} LicenseDB references, built in {time.perf_counter() - start:.1f} s\n")
    print("| set | docs | exact accuracy | NOASSERTION rate | docs/s per core |")
    print("|---|---|---|---|---|")
    groups: list[Callable[[Path], list[str]]] = [code_rows, notice_rows, web_rows]
    for group in groups:
        for row in group(args.corpora):
            print(row, flush=True)


if __name__ == "__main__":
    main()
