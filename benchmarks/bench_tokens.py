"""Tokens benchmark: the whole opencorpus tokenize stage beside raw `Tokenizer.encode_batch`,
same documents, same GPT-2 tokenizer, same process and cores, one run.

Stage: per documents part, read the part (documents/part-NNNNN.jsonl.zst) -> encode in
batches (stages.tokenize.encode_documents, EOS appended) -> write every token file
(formats.tokens.write_token_shard: .bin, .idx, .csv.gz and datatrove's .ds, .ds.index,
.ds.metadata), then the training order file. Raw: `Tokenizer.encode_batch` over all texts
held in memory, one call (the tokenizers library at its best: one batch, all cores).
Both are timed by wall clock (tokenizers encodes on every core), best of --repeat runs,
alternating; CPU seconds too, as a check when other work shares the cores. Rates use the
same numerator for both: the documents' UTF-8 bytes and their tokens without EOS. Memory:
the stage's peak Python allocations (tracemalloc, a separate untimed pass) beside the
largest part's text: it holds two encode batches, not a part or the corpus.

    python benchmarks/bench_tokens.py --corpora ../shared/corpora
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import zstandard

from opencorpus.document import Document, canonical_hash
from opencorpus.formats import layout
from opencorpus.formats.documents import order_key, read_documents, shard_of, write_documents
from opencorpus.formats.order import training_order, write_order
from opencorpus.formats.tokens import write_token_shard
from opencorpus.stages.tokenize import TokenEncoder, encode_documents, load_tokenizer, tokenizer_bytes

SOURCES = {"near-dup": "near-dup/docs.jsonl.zst", "libzstd": "code/libzstd.jsonl.zst"}
EOS = "<|endoftext|>"
FORMATS = ("megatron", "datatrove")


def load(root: Path) -> list[Document]:
    docs = []
    for source, rel in SOURCES.items():
        with (root / rel).open("rb") as f:
            data = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8")
        for line in data.splitlines():
            if line.strip():
                r = json.loads(line)
                digest = canonical_hash(r["text"])
                docs.append(Document(id=f"{source}/{r['id']}", text=r["text"], source=source,
                                     metadata={"sha256": digest, "sha256_published": digest}))
    return docs


def write_parts(version: str, docs: list[Document], parts: int) -> None:
    """Documents parts as the pipeline writes them (untimed setup)."""
    by_part: dict[int, list[Document]] = {p: [] for p in range(parts)}
    for doc in docs:
        by_part[shard_of(doc.id, parts)].append(doc)
    for part, members in by_part.items():
        write_documents(version, part, sorted(members, key=lambda d: order_key(d.id)))


def stage(version: str, encoder: TokenEncoder, parts: int) -> None:
    """read part -> encode -> write all token files, part by part; then the order file."""
    counts = []
    for part in range(parts):
        docs = (Document(id=r["id"], text=r["text"], source=r["source"], metadata=r["metadata"])
                for r in read_documents(version, part))  # streamed: one encode batch in memory at a time
        written = write_token_shard(version, part, encode_documents(encoder, docs), encoder.vocab_size, FORMATS)
        counts.append((part, written["documents"], written["tokens"]))
    write_order(os.path.join(version, layout.TOKEN_ORDER), training_order(counts, "document", 2048, seed=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tok_dir = args.corpora / "tokenizer" / "gpt2"
    tokenizer = load_tokenizer({"vocab": "encoder.json", "merges": "vocab.bpe", "eos": EOS}, str(tok_dir))
    encoder = TokenEncoder(tokenizer_bytes(tokenizer).decode("utf-8"), EOS)
    raw_tok = encoder.tokenizer  # the same loaded Tokenizer object the stage encodes with
    docs = load(args.corpora)
    texts = [d.text for d in docs]
    text_bytes = sum(len(t.encode("utf-8")) for t in texts)
    tokens = sum(len(e.ids) for e in raw_tok.encode_batch(texts, add_special_tokens=False))  # warm-up too

    with tempfile.TemporaryDirectory() as tmp:
        version = os.path.join(tmp, "v1")
        write_parts(version, docs, args.parts)
        largest_part = max(sum(len(r["text"].encode("utf-8")) for r in read_documents(version, p))
                           for p in range(args.parts))
        runs = {"opencorpus stage": lambda: stage(version, encoder, args.parts),
                "raw encode_batch": lambda: raw_tok.encode_batch(texts, add_special_tokens=False)}
        best = {name: float("inf") for name in runs}
        cpu = dict(best)
        for _ in range(args.repeat):
            for name, run in runs.items():
                wall, used = time.perf_counter(), time.process_time()
                run()
                best[name] = min(best[name], time.perf_counter() - wall)
                cpu[name] = min(cpu[name], time.process_time() - used)
        tracemalloc.start()
        stage(version, encoder, args.parts)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        written = sum(f.stat().st_size for f in Path(version, "tokens").iterdir())

    print(f"GPT-2 tokenizer; {len(docs)} documents ({', '.join(SOURCES.values())}), {text_bytes / 1e6:.1f} MB "
          f"of text, {tokens:,} tokens (+{len(docs)} EOS); {args.parts} parts; {os.cpu_count()} cores; "
          f"best of {args.repeat}\n")
    print("| measure | opencorpus stage (read part -> encode -> write .bin/.idx/.csv.gz/.ds*/order) "
          "| raw Tokenizer.encode_batch (in memory) |\n|---|---|---|")
    names = list(best)
    print(f"| wall seconds | {' | '.join(f'{best[n]:.2f}' for n in names)} |")
    print(f"| CPU seconds (all threads) | {' | '.join(f'{cpu[n]:.2f}' for n in names)} |")
    print(f"| tokens/s | {' | '.join(f'{tokens / best[n]:,.0f}' for n in names)} |")
    print(f"| MB/s of text | {' | '.join(f'{text_bytes / 1e6 / best[n]:.2f}' for n in names)} |")
    print(f"\nstage / raw throughput: {best['raw encode_batch'] / best['opencorpus stage']:.3f} (target >= 0.9)")
    print(f"stage peak Python memory {peak / 1e6:.1f} MB vs largest part's text {largest_part / 1e6:.1f} MB "
          f"and the corpus's {text_bytes / 1e6:.1f} MB; token files written {written / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
