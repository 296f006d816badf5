"""Token shards read by real consumers nobody here wrote: megatron-core, datatrove.

One pipeline run over real documents (tests/data/demo) with the real GPT-2 tokenizer files
(tests/data/gpt2) writes both layouts; the readers below are the trainers' own code.
Token ids are checked against an independent re-encoding (tokenizers' ByteLevelBPETokenizer
on the same files) and decoded back to the published text.

megatron-core and datatrove's torch datasets need torch: `pip install -r
requirements-consumers.txt` (`make test` does). Those tests skip, saying so, without it.
megatron-core 0.16.1 imports on a CPU-only torch: megatron/core/__init__.py pulls in the
optimizer and distributed modules, which only warn that Transformer Engine and Apex are absent.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from tokenizers import ByteLevelBPETokenizer

from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.documents import read_documents
from opencorpus.formats.order import read_order, training_order
from opencorpus.formats.tokens import read_token_rows, write_token_shard

from conftest import BEAM

DATA = Path(__file__).parent / "data"
GPT2 = DATA / "gpt2"
EOS_ID = 50256
SHARDS = 3
CONSUMERS = "the consumers extra is not installed (pip install -r requirements-consumers.txt)"
RECIPE = f"""\
name: consumers
date: 2026-11-01
seed: 11
sources:
  - {{name: debian, uri: {DATA}/demo/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
  - {{name: vendored, uri: {DATA}/demo/vendored-python.jsonl.zst, kind: code}}
  - {{name: notices, uri: {DATA}/demo/license-notices.jsonl.zst}}
stages: {{pii: false}}
tokenizer:
  vocab: {GPT2}/encoder.json
  merges: {GPT2}/vocab.bpe
  formats: [datatrove, megatron]
  order: {{unit: document}}
output: {{shards: {SHARDS}}}
"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("consumers")
    (folder / "recipe.yaml").write_text(RECIPE)
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), *BEAM]) == 0
    return folder / "out" / "consumers" / "v1"


@pytest.fixture(scope="module")
def reference() -> ByteLevelBPETokenizer:
    """GPT-2 as tokenizers' own ByteLevelBPETokenizer builds it: not our loader."""
    return ByteLevelBPETokenizer(str(GPT2 / "encoder.json"), str(GPT2 / "vocab.bpe"))


def published(version: Path, part: int) -> list[dict]:
    return list(read_documents(str(version), part))


def expected_ids(reference: ByteLevelBPETokenizer, text: str) -> list[int]:
    return reference.encode(text).ids + [EOS_ID]


def megatron_dataset():
    pytest.importorskip("torch", reason=CONSUMERS)
    pytest.importorskip("megatron.core", reason=CONSUMERS)
    with warnings.catch_warnings():
        # megatron.core's __init__ warns: no Transformer Engine/Apex, deprecated torch.jit APIs.
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset
    return IndexedDataset


def test_megatron_indexed_dataset_reads_every_document(snapshot, reference):
    IndexedDataset = megatron_dataset()
    seen = 0
    for part in range(SHARDS):
        docs = published(snapshot, part)
        dataset = IndexedDataset(str(snapshot / f"tokens/{layout.part_name(part)}"))
        assert len(dataset) == len(docs) > 0
        assert dataset.document_indices.tolist() == list(range(len(docs) + 1))
        for i, doc in enumerate(docs):
            ids = dataset[i].tolist()
            assert ids == expected_ids(reference, doc["text"]), doc["id"]
            assert reference.decode(ids[:-1], skip_special_tokens=False) == doc["text"]
        seen += len(docs)
    assert seen == json.loads((snapshot / layout.MANIFEST).read_text())["counts"]["output"]


def test_datatrove_folder_dataset_reads_the_ds_files(snapshot):
    pytest.importorskip("torch", reason=CONSUMERS)
    from datatrove.utils.dataset import DatatroveFolderDataset

    seq_len = 63
    dataset = DatatroveFolderDataset(str(snapshot / "tokens"), seq_len=seq_len, filename_pattern="*.ds",
                                     token_size=2, return_positions=True)
    assert [Path(f.file_path).name for f in dataset.files] == [f"{layout.part_name(p)}.ds" for p in range(SHARDS)]
    item = 0
    for part in range(SHARDS):
        stream = np.fromfile(snapshot / layout.tokens_part(part, "bin"), dtype="<u2")  # Megatron's file
        ends = [end for _, end, *_ in read_token_rows(str(snapshot / layout.tokens_part(part, "csv.gz")))]
        for window in range(stream.size // (seq_len + 1)):
            got = dataset[item]
            start = window * (seq_len + 1)
            assert got["input_ids"].tolist() == stream[start:start + seq_len + 1].tolist()
            # Positions restart where the .ds.index says a document ends: our csv's ends.
            restarts = np.flatnonzero(got["positions"].numpy() == 0).tolist()
            assert restarts == [0] + [e - start for e in ends if start < e <= start + seq_len]
            item += 1
    assert item == len(dataset)


def test_datatrove_merger_reads_files_and_metadata(snapshot, tmp_path):
    """DocumentTokenizerMerger (no torch) reads .ds, .ds.index and .ds.metadata as its own."""
    from datatrove.pipeline.tokens.merger import DocumentTokenizerMerger

    merger = DocumentTokenizerMerger(str(snapshot / "tokens"), str(tmp_path), "merged", shuffle=False, progress=False)
    merger.run()
    merged = {p.name: p for p in tmp_path.iterdir()}
    assert {"000_merged.ds", "000_merged.ds.index", "000_merged.ds.metadata"} <= set(merged)
    streams = [(snapshot / layout.tokens_part(p, "ds")).read_bytes() for p in range(SHARDS)]
    assert merged["000_merged.ds"].read_bytes() == b"".join(streams)
    ends, offset = [], 0
    for part in range(SHARDS):
        part_ends = np.fromfile(snapshot / layout.tokens_part(part, "ds.index"), dtype="<u8")
        ends += (part_ends + offset).tolist()
        offset += len(streams[part]) // 2
    assert np.fromfile(merged["000_merged.ds.index"], dtype="<u8").tolist() == ends
    assert merged["000_merged.ds.metadata"].read_text().splitlines()[:2] == [f"{layout.TOKENIZER}|2", str(offset)]


def test_ds_and_bin_hold_the_same_token_bytes(snapshot):
    for part in range(SHARDS):
        assert (snapshot / layout.tokens_part(part, "ds")).read_bytes() == \
            (snapshot / layout.tokens_part(part, "bin")).read_bytes()


def test_manifest_counts_tokens_by_source_license_and_file(snapshot):
    manifest = json.loads((snapshot / layout.MANIFEST).read_text())
    tokens = manifest["tokens"]
    assert tokens["documents"] == manifest["counts"]["output"]
    assert sum(tokens["by_source"].values()) == sum(tokens["by_license"].values()) == tokens["total"] > 0
    assert set(tokens["by_source"]) == {"debian", "vendored", "notices"}
    assert tokens["by_license"]["MIT"] > 0
    # Per document (csv.gz rows) summed by each published document's source, license and category.
    expected: dict[str, dict[str, int]] = {"by_source": {}, "by_license": {}, "by_license_category": {}}
    for part in range(SHARDS):
        rows = read_token_rows(str(snapshot / layout.tokens_part(part, "csv.gz")))
        for doc, (start, end, doc_id, source, sha) in zip(published(snapshot, part), rows):
            assert (doc_id, source, sha) == (doc["id"], doc["source"], doc["metadata"]["sha256_published"])
            meta = doc["metadata"]
            for key, value in (("by_source", source), ("by_license", meta["license"]),
                               ("by_license_category", meta.get("license_category"))):
                if value is not None:
                    expected[key][value] = expected[key].get(value, 0) + end - start
    assert {k: v for k, v in expected.items() if v} == {k: tokens[k] for k in expected if k in tokens}
    files = {f["path"]: f for f in manifest["files"]}
    for fmt_suffix in ("bin", "ds"):
        assert sum(files[layout.tokens_part(p, fmt_suffix)]["tokens"] for p in range(SHARDS)) == tokens["total"]
    for suffix in ("idx", "csv.gz", "ds.index", "ds.metadata"):
        assert layout.tokens_part(0, suffix) in files
    assert files[layout.TOKEN_ORDER]["documents"] == tokens["documents"]
    assert manifest["tokenizer"]["formats"] == ["megatron", "datatrove"]
    assert manifest["tokenizer"]["eos_id"] == EOS_ID and manifest["tokenizer"]["origin"] == "gpt2"


def test_order_file_is_a_seeded_permutation_rebuilt_from_the_manifest(snapshot):
    manifest = json.loads((snapshot / layout.MANIFEST).read_text())
    described = manifest["tokenizer"]["order"]
    assert described == {"file": layout.TOKEN_ORDER, "unit": "document", "seed": 11, "dtype": "int64",
                         "algorithm": "splitmix64-argsort", "columns": ["part", "document"]}
    order = np.load(snapshot / described["file"])  # plain NumPy reads it
    assert order.dtype == np.dtype("<i8") and order.shape == (manifest["tokens"]["documents"], 2)
    counts = [len(published(snapshot, p)) for p in range(SHARDS)]
    everything = sorted((p, d) for p in range(SHARDS) for d in range(counts[p]))
    assert sorted(map(tuple, order.tolist())) == everything
    assert order.tolist() != [list(u) for u in everything]  # really shuffled
    files = {f["path"]: f for f in manifest["files"]}
    parts = [(p, files[layout.tokens_part(p, "bin")]["documents"], files[layout.tokens_part(p, "bin")]["tokens"])
             for p in range(SHARDS)]
    rebuilt = training_order(parts, described["unit"], 2048, described["seed"])
    assert np.array_equal(rebuilt, read_order(str(snapshot / described["file"])))


def test_megatron_reads_an_empty_part_and_an_empty_sequence(tmp_path):
    """Bad-input edges stay valid for Megatron: a part without documents, a zero-token sequence."""
    IndexedDataset = megatron_dataset()
    write_token_shard(str(tmp_path), 0, [], 50257)
    write_token_shard(str(tmp_path), 1, [("a", "s", "0" * 64, [1, 2, EOS_ID]), ("b", "s", "1" * 64, []),
                                         ("c", "s", "2" * 64, [EOS_ID])], 50257)
    # numpy cannot mmap a 0-byte .bin (Megatron's own builder writes the same empty file).
    assert len(IndexedDataset(str(tmp_path / "tokens/part-00000"), mmap=False)) == 0
    dataset = IndexedDataset(str(tmp_path / "tokens/part-00001"))
    assert [dataset[i].tolist() for i in range(len(dataset))] == [[1, 2, EOS_ID], [], [EOS_ID]]
