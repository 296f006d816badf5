"""OLMo/Dolma's token layout (formats/olmo_tokens.py), read as OLMo and Dolma read it.

The readers below mirror allenai/OLMo's olmo/data/memmap_dataset.py (MemMapDataset: fixed-size
instances read as byte ranges of a headerless file, `memmap_dtype`; get_document_lengths: documents
end at EOS) and allenai/dolma's python/dolma/tokenizer (MemmapWriter writes `start,end,id,src,loc`
rows with csv.writer's default dialect; reshard pairs each .npy with the .csv.gz of its stem and
reads rows as `start, end, id_, src, idx`). Token ids come from real tokenizers (the GPT-2 files in
tests/data/gpt2, and GPT-2 grown past 65536 ids) and decode back to the input texts.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.documents import read_documents
from opencorpus.formats.order import read_order
from opencorpus.formats.tokens import TokenShardError, token_dtype, write_token_shard
from opencorpus.recipe import RecipeError, parse_recipe
from opencorpus.stages.tokenize import TokenEncoder, load_tokenizer, tokenizer_bytes

from conftest import BEAM

DATA = Path(__file__).parent / "data"
EOS = "<|endoftext|>"
BOS = "<|begin|>"
GPT2_FILES = {"vocab": "gpt2/encoder.json", "merges": "gpt2/vocab.bpe", "eos": EOS, "bos": None}
# Enough added words to push BOS and some words past uint16 (as Llama-3-sized vocabularies are).
WIDE_WORDS = [f"<w{i}>" for i in range(15300)]
TEXTS = [
    "Hello world",
    "naïve café, 東京 and emoji 🎉",
    "a text that mentions <|endoftext|> without ending there",
    "",
    "line one\nline two, with \"quotes\"",
]
IDS = ["doc-a", 'id, with "quotes"\nand a newline', "dóc-ü-東京", "empty", "last"]


@pytest.fixture(scope="module")
def gpt2() -> TokenEncoder:
    tok = load_tokenizer(GPT2_FILES, str(DATA))
    return TokenEncoder(tokenizer_bytes(tok).decode("utf-8"), EOS)


@pytest.fixture(scope="module")
def wide() -> TokenEncoder:
    """GPT-2 with 15300 added words and a BOS: ids up to 65557, so uint32 files."""
    tok = load_tokenizer(GPT2_FILES, str(DATA))
    tok.add_tokens(WIDE_WORDS)
    tok.add_special_tokens([BOS])
    return TokenEncoder(tokenizer_bytes(tok).decode("utf-8"), EOS, BOS)


def doc_id(i: int) -> str:
    return IDS[i] if i < len(IDS) else f"doc-{i}"


def write(version: Path, encoder: TokenEncoder, texts: list[str], part: int = 0, formats=("olmo",)) -> dict[str, int]:
    docs = [(doc_id(i), "src", f"{i:064x}", ids) for i, ids in enumerate(encoder.encode_batch(texts))]
    return write_token_shard(str(version), part, docs, encoder.vocab_size, formats)


def memmap_dtype(vocab_size: int) -> type[np.unsignedinteger]:
    """The `memmap_dtype` an OLMo config names for these files (uint16 or uint32 only)."""
    return np.uint16 if vocab_size < 65500 else np.uint32


def olmo_instances(path: Path, dtype: type[np.unsignedinteger], chunk_size: int) -> list[np.ndarray]:
    """MemMapDataset's instances of one file: file_size // (itemsize * chunk_size) of them, each
    the bytes [i * itemsize * chunk_size, + itemsize * chunk_size) as `dtype` (_read_chunk_from_memmap)."""
    item_size = dtype(0).itemsize
    count = os.stat(path).st_size // (item_size * chunk_size)
    with open(path, "rb") as f:
        chunks = []
        for index in range(count):
            f.seek(index * item_size * chunk_size)
            chunks.append(np.frombuffer(f.read(item_size * chunk_size), dtype=dtype).astype(np.int_))
    return chunks


def documents_by_eos(path: Path, dtype: type[np.unsignedinteger], eos_id: int) -> list[list[int]]:
    """np.memmap(path, dtype, mode="r") cut after every EOS, as get_document_lengths does."""
    tokens = np.memmap(path, dtype=dtype, mode="r")
    ends = np.flatnonzero(tokens == eos_id) + 1
    assert not tokens.size or ends[-1] == tokens.size, "the stream ends with EOS"
    return [piece.tolist() for piece in np.split(np.asarray(tokens), ends)[:-1]]


def dolma_rows(path: Path) -> list[tuple[int, int, str, str, int]]:
    """Rows as Dolma's reshard reads them: csv.reader over the gzip text, `start, end, id_, src, idx`."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as g:
        return [(int(start), int(end), id_, src, int(idx)) for start, end, id_, src, idx in csv.reader(g)]


def olmo_files(version: Path, part: int) -> tuple[Path, Path]:
    npy, metadata = version / layout.olmo_tokens_part(part, "npy"), version / layout.olmo_tokens_part(part, "csv.gz")
    assert Path(npy).stem == Path(Path(metadata).stem).stem  # reshard's pairing rule
    return npy, metadata


def decoded(encoder: TokenEncoder, ids: list[int]) -> str:
    """The text of one document's ids: BOS and EOS are the layout's, not the text's."""
    body = ids[1:-1] if encoder.bos is not None else ids[:-1]
    return encoder.tokenizer.decode(body, skip_special_tokens=False)


@pytest.mark.parametrize("which", ["gpt2", "wide"])
def test_olmo_reads_every_document_back_to_its_text(tmp_path, request, which):
    encoder: TokenEncoder = request.getfixturevalue(which)
    texts = TEXTS + ([f"a word past uint16: {WIDE_WORDS[-1]}."] if which == "wide" else [])
    result = write(tmp_path, encoder, texts)
    npy, metadata = olmo_files(tmp_path, 0)
    dtype = memmap_dtype(encoder.vocab_size)
    assert np.dtype(dtype).itemsize == token_dtype(encoder.vocab_size).itemsize  # the other layouts' width
    assert os.stat(npy).st_size == result["tokens"] * np.dtype(dtype).itemsize  # no header

    by_eos = documents_by_eos(npy, dtype, encoder.eos_id)
    tokens = np.memmap(npy, dtype=dtype, mode="r")
    by_rows = [tokens[start:end].tolist() for start, end, *_ in dolma_rows(metadata)]
    assert by_eos == by_rows
    assert [decoded(encoder, ids) for ids in by_rows] == texts
    if encoder.bos is not None:
        assert all(ids[0] == encoder.bos_id for ids in by_rows)
    stream = np.concatenate(by_rows)
    for chunk_size in (1, 3, result["tokens"]):
        instances = olmo_instances(npy, dtype, chunk_size)
        assert np.concatenate(instances).tolist() == stream[:len(instances) * chunk_size].tolist()


def test_wide_vocabulary_is_uint32_and_narrow_is_uint16(tmp_path, gpt2, wide):
    assert (gpt2.vocab_size, wide.vocab_size) == (50257, 65558)
    write(tmp_path / "narrow", gpt2, ["Hello world"])
    write(tmp_path / "wide", wide, [f"Hello {WIDE_WORDS[-1]}"])
    assert (tmp_path / "narrow" / layout.olmo_tokens_part(0, "npy")).read_bytes() == \
        np.array([15496, 995, 50256], dtype="<u2").tobytes()
    ids = np.fromfile(tmp_path / "wide" / layout.olmo_tokens_part(0, "npy"), dtype="<u4").tolist()
    # BOS, "Hello", " " (an added word splits the text), the added word, EOS
    assert ids == [wide.bos_id, 15496, 220, wide.tokenizer.token_to_id(WIDE_WORDS[-1]), 50256] and max(ids) > 65535


@pytest.mark.parametrize("vocab_size, width", [(65499, 2), (65500, 4)])
def test_width_switches_where_megatron_does(tmp_path, vocab_size, width):
    write_token_shard(str(tmp_path), 0, [("d", "s", "a" * 64, [1, 65498])], vocab_size, ["olmo"])
    data = (tmp_path / layout.olmo_tokens_part(0, "npy")).read_bytes()
    assert np.frombuffer(data, dtype=f"<u{width}").tolist() == [1, 65498]


def test_metadata_rows_are_dolmas(tmp_path, gpt2):
    write(tmp_path, gpt2, TEXTS, part=3)
    _, metadata = olmo_files(tmp_path, 3)
    lengths = [len(ids) for ids in gpt2.encode_batch(TEXTS)]
    ends = np.cumsum(lengths).tolist()
    expected = [(end - n, end, doc_id, "documents/part-00003.jsonl.zst", line)
                for line, (doc_id, n, end) in enumerate(zip(IDS, lengths, ends), start=1)]
    assert dolma_rows(metadata) == expected
    # MemmapWriter's bytes: MemmapMetadata tuples through csv.writer's default dialect, no header.
    text = io.StringIO(newline="")
    csv.writer(text).writerows(expected)
    raw = metadata.read_bytes()
    assert gzip.decompress(raw).decode("utf-8") == text.getvalue()
    assert raw[3] == 0 and raw[4:8] == b"\x00\x00\x00\x00"  # deterministic gzip: no name, mtime 0


def test_olmo_alone_writes_its_folder_and_the_csv(tmp_path, gpt2):
    write(tmp_path, gpt2, TEXTS)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*")) == [
        "tokens/olmo/part-00000.csv.gz", "tokens/olmo/part-00000.npy", "tokens/part-00000.csv.gz"]


def test_every_layout_holds_the_same_token_bytes(tmp_path, gpt2):
    write(tmp_path, gpt2, TEXTS, formats=("megatron", "datatrove", "olmo"))
    npy = (tmp_path / layout.olmo_tokens_part(0, "npy")).read_bytes()
    assert npy == (tmp_path / layout.tokens_part(0, "bin")).read_bytes() == (tmp_path / layout.tokens_part(0, "ds")).read_bytes()
    write(tmp_path / "again", gpt2, TEXTS, formats=("megatron", "datatrove", "olmo"))
    for path in tmp_path.glob("tokens/**/*.*"):
        assert path.read_bytes() == (tmp_path / "again" / path.relative_to(tmp_path)).read_bytes(), path


def test_an_error_removes_the_olmo_files(tmp_path):
    docs = [("good", "s", "a" * 64, [1, 2]), ("bad", "s", "b" * 64, [70000])]
    with pytest.raises(TokenShardError, match="'bad'"):
        write_token_shard(str(tmp_path), 0, docs, 50257, ["megatron", "olmo"])
    assert list(tmp_path.rglob("*.*")) == []


RECIPE = """\
name: t
date: 2026-11-01
sources: [{{name: s, uri: a.jsonl}}]
tokenizer: {{train: {{}}, formats: {formats}}}
"""


@pytest.mark.parametrize("formats, resolved", [
    ("[olmo]", ["olmo"]), ("[olmo, megatron]", ["megatron", "olmo"]),
    ("[olmo, datatrove, megatron]", ["megatron", "datatrove", "olmo"]),
])
def test_recipe_accepts_olmo(formats, resolved):
    assert parse_recipe(RECIPE.format(formats=formats)).tokenizer["formats"] == resolved


def test_recipe_names_olmo_among_the_known_formats():
    with pytest.raises(RecipeError, match=r"unknown format 'dolma' \(expected one of: megatron, datatrove, olmo\)"):
        parse_recipe(RECIPE.format(formats="[dolma]"))


# --- a pipeline run with only the OLMo layout, then a takedown ---

SHARDS = 2
RUN_RECIPE = f"""\
name: olmo
date: 2026-11-01
sources:
  - {{name: debian, uri: {DATA}/demo/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
stages: {{pii: false}}
tokenizer: {{vocab: {DATA}/gpt2/encoder.json, merges: {DATA}/gpt2/vocab.bpe, formats: [olmo]}}
output: {{shards: {SHARDS}}}
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("olmo")
    (folder / "recipe.yaml").write_text(RUN_RECIPE)
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), "--no-cache", *BEAM]) == 0
    return folder / "out"


def check_version(version: Path, gpt2: TokenEncoder) -> list[list[dict]]:
    """Every part's OLMo files name and hold its published documents; returns the documents."""
    parts = []
    for part in range(SHARDS):
        docs = list(read_documents(str(version), part))
        npy, metadata = olmo_files(version, part)
        rows = dolma_rows(metadata)
        assert [(doc_id, src, loc) for _, _, doc_id, src, loc in rows] == [
            (d["id"], layout.documents_part(part), line) for line, d in enumerate(docs, start=1)]
        texts = [decoded(gpt2, ids) for ids in documents_by_eos(npy, np.uint16, gpt2.eos_id)]
        assert texts == [d["text"] for d in docs]
        parts.append(docs)
    return parts


def test_a_run_and_a_takedown_keep_the_olmo_layout_true(published, tmp_path, gpt2, capsys):
    root = shutil.copytree(published, tmp_path / "out")
    v1 = root / "olmo" / "v1"
    before = check_version(v1, gpt2)
    assert all(before)
    assert not list(v1.glob("tokens/*.bin")) and not list(v1.glob("tokens/*.ds"))
    manifest = json.loads((v1 / layout.MANIFEST).read_text())
    assert manifest["tokenizer"]["formats"] == ["olmo"] and manifest["tokenizer"]["dtype"] == "uint16"
    assert {f["path"] for f in manifest["files"]} >= {layout.olmo_tokens_part(p, s) for p in range(SHARDS)
                                                      for s in ("npy", "csv.gz")}

    gone = before[0][1]  # a middle line: the lines after it move up
    assert main(["takedown", "--snapshot", str(root / "olmo"), "--hash", gone["metadata"]["sha256"],
                 "--reason", "asked"]) == 0
    capsys.readouterr()
    v2 = root / "olmo" / "v2"
    assert main(["verify", str(v2)]) == 0
    after = check_version(v2, gpt2)
    assert after == [[d for d in docs if d["id"] != gone["id"]] for docs in before]
    assert (v2 / layout.olmo_tokens_part(1, "npy")).read_bytes() == (v1 / layout.olmo_tokens_part(1, "npy")).read_bytes()
    stats = json.loads((v2 / layout.STATS).read_text())
    npy0 = layout.olmo_tokens_part(0, "npy")
    assert stats["files"][npy0]["documents"] == len(after[0])
    assert stats["files"][npy0]["tokens"] == os.stat(v2 / npy0).st_size // 2
    assert len(read_order(str(v2 / layout.TOKEN_ORDER))) == sum(map(len, after))
