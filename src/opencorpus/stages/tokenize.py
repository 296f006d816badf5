"""Tokenizers: load a given one, train a byte-level BPE one, encode documents.

Pure logic (no Beam): the Beam layer has the workers read the tokenizer.json the version holds
(checked against its sha256) into a `TokenEncoder`, so the same bytes encode every part on every
runner.

Determinism of training (checked in tests/test_tokenize.py with separate processes,
thread counts and hash seeds): tokenizers' BpeTrainer is deterministic for byte-level BPE
without setting RAYON_NUM_THREADS or TOKENIZERS_PARALLELISM. Its threads only compute
sums (word counts, pair counts), which do not depend on the order they are added in;
ties between equally frequent pairs are broken by the pair's token ids, and those ids
come from the sorted initial alphabet and the order of earlier merges. The one known
hash-order dependence (huggingface/tokenizers#1794) is in the ids of
`continuing_subword_prefix` tokens, which byte-level BPE does not use. What remains is
our side: the training texts must arrive in a fixed order (`select_training_sample`).
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from opencorpus import storage
from opencorpus.document import Document
from opencorpus.recipe import DEFAULT_EOS, TRAIN_DEFAULTS

# Characters per encode_batch call: enough documents to keep every core busy, few enough that
# one batch's token lists (Python ints, ~40 bytes a token) stay small (benchmarks/bench_tokens.py).
ENCODE_BATCH_CHARS = 1_000_000


class TokenizerError(ValueError):
    """A tokenizer that cannot be used; the message names the file and why."""


def _byte_level(model: models.BPE) -> Tokenizer:
    """A byte-level BPE pipeline set up exactly as `tokenizers.ByteLevelBPETokenizer` does it.

    add_prefix_space stays off so that decoding gives back the text byte for byte.
    """
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def _resolve(path: str, base_dir: str) -> str:
    return path if storage.is_absolute(path) else storage.join(base_dir, path)


def _read_text(url: str) -> str:
    try:
        return storage.read_bytes(url).decode("utf-8")
    except FileNotFoundError:
        raise TokenizerError(f"{url}: no such tokenizer file") from None
    except UnicodeDecodeError as e:
        raise TokenizerError(f"{url}: not UTF-8 text: {e}") from None
    except OSError as e:
        raise TokenizerError(f"{url}: cannot read: {e}") from None


def _load_json_file(url: str) -> Tokenizer:
    try:
        return Tokenizer.from_str(_read_text(url))
    except TokenizerError:
        raise
    except Exception as e:  # tokenizers raises a bare Exception for a bad tokenizer.json
        raise TokenizerError(f"{url}: not a Hugging Face tokenizer.json: {e}") from None


def _parse_vocab(url: str) -> dict[str, int]:
    try:
        vocab = json.loads(_read_text(url))
    except json.JSONDecodeError as e:
        raise TokenizerError(f"{url}: vocab is not valid JSON: {e}") from None
    if not isinstance(vocab, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in vocab.values()
    ):
        raise TokenizerError(f"{url}: vocab must map token strings to non-negative integer ids")
    return vocab


def _parse_merges(url: str) -> list[tuple[str, str]]:
    """Merge lines as tokenizers' BPE.read_file reads them: '#version' lines skipped, 'a b' pairs.

    Split on '\\n' only: str.splitlines would also split on U+0085 and U+2028.
    """
    lines = _read_text(url).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    merges = []
    for number, line in enumerate(lines, 1):
        line = line.removesuffix("\r")
        if line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise TokenizerError(f"{url}: line {number}: expected a merge 'a b', got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def _load_gpt2_files(vocab_url: str, merges_url: str) -> Tokenizer:
    vocab, merges = _parse_vocab(vocab_url), _parse_merges(merges_url)
    try:
        model = models.BPE(vocab, merges, dropout=None, continuing_subword_prefix="", end_of_word_suffix="")
    except Exception as e:  # e.g. a merge naming a token the vocab lacks
        raise TokenizerError(f"{vocab_url} + {merges_url}: not a BPE vocab and merges pair: {e}") from None
    return _byte_level(model)


def _register_special(tok: Tokenizer, eos: str, bos: str | None, where: str) -> Tokenizer:
    """Make eos/bos special tokens; one already in the vocab keeps its id (GPT-2: 50256)."""
    tok.add_special_tokens([t for t in (eos, bos) if t is not None])
    for token in (eos, bos):
        if token is not None and tok.token_to_id(token) is None:
            raise TokenizerError(f"{where}: cannot register special token {token!r}")
    return tok


def load_tokenizer(config: dict[str, Any], base_dir: str) -> Tokenizer:
    """The tokenizer a recipe names: {'path': tokenizer.json} or {'vocab', 'merges'} (GPT-2).

    Files are read through storage so any fsspec URL works; relative paths are taken from
    `base_dir` (the recipe's folder). EOS (and BOS when set) are registered as special tokens.
    """
    eos, bos = config.get("eos", DEFAULT_EOS), config.get("bos")
    if "path" in config:
        url = _resolve(config["path"], base_dir)
        return _register_special(_load_json_file(url), eos, bos, url)
    if "vocab" in config and "merges" in config:
        vocab_url, merges_url = _resolve(config["vocab"], base_dir), _resolve(config["merges"], base_dir)
        return _register_special(_load_gpt2_files(vocab_url, merges_url), eos, bos, vocab_url)
    raise TokenizerError(f"tokenizer: expected 'path' or 'vocab' + 'merges', got keys {sorted(config)}")


def train_tokenizer(texts: Iterable[str], train: dict[str, Any], eos: str, bos: str | None) -> Tokenizer:
    """Train a byte-level BPE tokenizer; same texts in the same order -> same bytes.

    The full byte alphabet is always in the vocab, so any text encodes without unknowns.
    EOS, BOS and the recipe's special tokens take the first ids, in that order.
    """
    options = {**TRAIN_DEFAULTS, **train}
    special = list(dict.fromkeys([eos, *([bos] if bos is not None else []), *options["special_tokens"]]))
    trainer = trainers.BpeTrainer(
        vocab_size=options["vocab_size"],
        min_frequency=options["min_frequency"],
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok = _byte_level(models.BPE())
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def sample_key(doc_id: str, seed: int) -> str:
    """The training-sample order of a document: seeded, independent of arrival order."""
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def select_training_sample(pairs: Iterable[tuple[str, str]], size: int, seed: int) -> list[str]:
    """Texts of the `size` documents with the smallest sample_key, in key order.

    The same selection as Beam's Top.Smallest over (key, text); equal keys (a repeated id)
    fall back to the text, never to arrival order. Holds at most `size` texts.
    """
    keyed = ((sample_key(doc_id, seed), text) for doc_id, text in pairs)
    return [text for _, text in heapq.nsmallest(size, keyed)]


def tokenizer_bytes(tok: Tokenizer) -> bytes:
    """The tokenizer.json bytes for the snapshot: what `Tokenizer.save` writes (pretty JSON).

    tokenizers serializes the vocab and added tokens ordered by id and merges by rank,
    so the same tokenizer always gives the same bytes.
    """
    return tok.to_str(pretty=True).encode("utf-8")


class TokenEncoder:
    """Encodes document texts to token ids with EOS appended (BOS prepended when set).

    Built from the tokenizer's JSON text; the Tokenizer itself is loaded on first use and
    never pickled.
    """

    def __init__(self, tokenizer_json: str, eos: str, bos: str | None = None):
        self.tokenizer_json = tokenizer_json
        self.eos = eos
        self.bos = bos
        self._tok: Tokenizer | None = None
        self._eos_id: int | None = None
        self._bos_id: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tok": None, "_eos_id": None, "_bos_id": None}

    def setup(self) -> None:
        """Load the tokenizer once; safe to call again."""
        if self._tok is not None:
            return
        try:
            tok = Tokenizer.from_str(self.tokenizer_json)
        except Exception as e:
            raise TokenizerError(f"tokenizer JSON does not load: {e}") from None
        # Special-token strings inside a document are encoded as plain text, as GPT-2's
        # own BPE (and Megatron's GPT2BPETokenizer) does: a document containing
        # "<|endoftext|>" cannot end itself early, and decoding gives its text back.
        tok.encode_special_tokens = True
        self._eos_id = self._special_id(tok, self.eos)
        self._bos_id = self._special_id(tok, self.bos) if self.bos is not None else None
        self._tok = tok

    @staticmethod
    def _special_id(tok: Tokenizer, token: str) -> int:
        token_id = tok.token_to_id(token)
        if token_id is None:
            raise TokenizerError(f"tokenizer JSON has no token {token!r}")
        return token_id

    @property
    def tokenizer(self) -> Tokenizer:
        self.setup()
        assert self._tok is not None  # set by setup()
        return self._tok

    @property
    def eos_id(self) -> int:
        self.setup()
        assert self._eos_id is not None  # set by setup()
        return self._eos_id

    @property
    def bos_id(self) -> int | None:
        self.setup()
        return self._bos_id

    @property
    def vocab_size(self) -> int:
        """The vocabulary size with added tokens: Megatron's dtype rule is applied to it."""
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's token ids (uint32, as the tokenizer's own), BOS first if there is one, EOS last."""
        # ids only: the fast path skips the offsets, a third of the encoding time
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        eos, bos = self.eos_id, self._bos_id
        head = 0 if bos is None else 1
        encoded = []
        for encoding in encodings:
            ids = encoding.ids
            # Filled in place from the list: half the time of joining lists and converting them.
            arr = np.empty(head + len(ids) + 1, dtype=np.uint32)
            if bos is not None:
                arr[0] = bos
            arr[head:-1] = ids
            arr[-1] = eos
            encoded.append(arr)
        return encoded


def _batches(docs: Iterable[Document], max_chars: int) -> Iterator[list[Document]]:
    """Consecutive documents, up to max_chars characters per batch (a longer document alone)."""
    batch: list[Document] = []
    size = 0
    for doc in docs:
        if batch and size + len(doc.text) > max_chars:
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += len(doc.text)
    if batch:
        yield batch


def encode_documents(encoder: TokenEncoder, docs: Iterable[Document],
                     max_chars: int = ENCODE_BATCH_CHARS) -> Iterator[tuple[str, str, str, np.ndarray]]:
    """(id, source, sha256_published, ids) per document, in order, for formats.tokens.

    Encoded in batches of about max_chars characters, the next batch already encoding while
    the caller writes this one: encode_batch releases the GIL and shares tokenizers' thread
    pool, so the cores stay busy through a batch's long last document and through the
    writing. At most two batches of token lists are held, whatever the part size. An empty
    text still gives [EOS] (never zero tokens).
    """
    encoder.setup()  # once, before two threads could race to load it
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: deque[tuple[list[Document], Future]] = deque()
        for batch in _batches(docs, max_chars):
            pending.append((batch, pool.submit(encoder.encode_batch, [d.text for d in batch])))
            if len(pending) == 2:
                yield from _rows(*pending.popleft())
        while pending:
            yield from _rows(*pending.popleft())


def _rows(batch: list[Document], encoded: Future) -> Iterator[tuple[str, str, str, np.ndarray]]:
    for doc, ids in zip(batch, encoded.result()):
        yield doc.id, doc.source, doc.metadata["sha256_published"], ids
