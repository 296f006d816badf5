"""License benchmark: the opencorpus `license` stage on the labelled sets of ../shared/corpora
(code/libzstd with its DEP-5 file, licenses/license_notices, web/python-docs, web/debian-handbook).

Exact-expression accuracy: the stage's metadata.license is equivalent (license-expression) to the
truth. NOASSERTION rate: share of documents with no license found. Speed: documents per second on
one core (this one process), after the index is built (its build time is printed apart).
Anchors, same documents, same process: the stage without the tree's DEP-5 file (what the files
themselves say), and pyaskalono's `identify` (a full-text matcher) on the notices when installed.
benchmarks/license_notices_audit.jsonl reviews, from the text alone, each notice the stage misses: `label`
(the Debian-name label contradicts the text; `correct` is what the text supports), `ours` (a matcher miss)
or `both` (both defensible). The raw score stays the headline; a second row rescores with `correct`.

    python benchmarks/bench_licenses.py --corpora ../shared/corpora
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import zstandard

from opencorpus.document import Document
from opencorpus.stages.license import NOASSERTION, LicenseTagger
from opencorpus.stages.licenses.matcher import license_index
from opencorpus.stages.licenses.normalize import equivalent
from opencorpus.stages.licenses.trees import license_file


def load(path: Path) -> list[dict]:
    with path.open("rb") as f:
        data = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8")
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def tag(docs: list[Document], options: dict) -> tuple[list[Document], float]:
    tagger = LicenseTagger(options, {})
    tagger.setup()
    start = time.perf_counter()
    out = [d for doc in docs for d in tagger.process(doc)]
    return out, time.perf_counter() - start


def score(rows: list[tuple[str, str]]) -> tuple[float, float]:
    """(exact accuracy, NOASSERTION rate) over (predicted, truth) pairs."""
    if not rows:
        return float("nan"), float("nan")
    exact = sum(1 for got, want in rows if got != NOASSERTION and equivalent(got, want))
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
        tagged, seconds = tag(docs, {"trees": trees})
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
    tagged, seconds = tag(docs, {})
    pairs = [(d.metadata["license"], r["truth_license"]) for d, r in zip(tagged, records)]
    out = [line("licenses/license_notices, opencorpus", len(pairs), *score(pairs), f"{len(docs) / seconds:,.0f}")]
    checked = [(g, w) for (g, w), r in zip(pairs, records) if not r.get("label_check")]
    out.append(line("licenses/license_notices without label_check rows, opencorpus", len(checked), *score(checked), ""))
    # Misses where a whole LicenseDB text or rule is in the snippet (coverage 1.0) under another SPDX id:
    # the label (a Debian short name) and the text disagree on the variant (BSD-4-Clause vs -UC, ...).
    exact_other = sum(1 for d, (g, w) in zip(tagged, pairs) if not (g != NOASSERTION and equivalent(g, w))
                      and any(e.get("confidence") == 1.0 and e["method"] == "license-text"
                              for e in d.metadata["license_evidence"]))
    out.append(f"| (of the misses, {exact_other} are full-coverage LicenseDB matches of another SPDX id) | | | | |")
    out += audit_rows(records, [g for g, _ in pairs])
    try:
        import askalono
    except ImportError:
        return out + ["| anchor: pyaskalono (not installed) | | | | |"]
    start = time.perf_counter()
    found = [askalono.identify(r["text"]) for r in records]
    seconds = time.perf_counter() - start
    pairs = [(m.name if m and m.score >= 0.8 else NOASSERTION, r["truth_license"]) for m, r in zip(found, records)]
    return out + [line("licenses/license_notices, anchor: pyaskalono identify", len(pairs), *score(pairs),
                       f"{len(records) / seconds:,.0f}")]


AUDIT = Path(__file__).with_name("license_notices_audit.jsonl")


def audit_rows(records: list[dict], predicted: list[str]) -> list[str]:
    """The notices rescored with the audit's `correct` expression where it found the label wrong."""
    audit = {a["id"]: a for a in (json.loads(x) for x in AUDIT.read_text("utf-8").splitlines() if x.strip())}
    corrected = {i: a["correct"] for i, a in audit.items() if a["verdict"] == "label"}
    pairs = [(g, corrected.get(r["id"], r["truth_license"])) for g, r in zip(predicted, records)]
    out = [line(f"licenses/license_notices, labels corrected by benchmarks/{AUDIT.name} ({len(audit)} rows)",
                len(pairs), *score(pairs), "")]
    meaning = {"label": "the label contradicts the text (rescored above)", "ours": "genuine matcher misses",
               "both": "label and our answer both defensible (still misses above)"}
    for verdict, what in meaning.items():
        n = sum(1 for a in audit.values() if a["verdict"] == verdict)
        out.append(f"| (audit `{verdict}`: {n} misses, {what}) | | | | |")
    missed = {r["id"] for g, r in zip(predicted, records) if g == NOASSERTION or not equivalent(g, r["truth_license"])}
    return out + [f"| (misses not in the audit: {len(missed - audit.keys())}) | | | | |"]


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
        tagged, seconds = tag(docs, {})
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
