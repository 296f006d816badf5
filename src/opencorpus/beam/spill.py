"""SpillDocuments: documents leave the Beam graph for scratch files; only frame refs go on.

Each worker gathers the documents it reads until SPILL_CHARS of text, sorts them by slice and
order key, and writes them as one run file (formats/scratch.py) with a frame per slice. The
graph then carries (slice, FrameRef) pairs, never text: dedup decides on keys, and each slice
later reads its frames back (beam/slices.py). Memory per worker is one such buffer, whatever
the size of the corpus.
"""

from __future__ import annotations

import uuid

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from opencorpus import storage
from opencorpus.beam.cputime import charged_to
from opencorpus.document import Document
from opencorpus.formats.documents import order_key, range_of
from opencorpus.formats.scratch import write_frames

# Text gathered before a run file is written: large enough for few files, small enough that a
# worker's buffer stays far below its memory.
SPILL_CHARS = 64 << 20


class _SpillFn(beam.DoFn):
    def __init__(self, scratch_url: str, slices: int, spill_chars: int):
        self.scratch_url, self.slices, self.spill_chars = scratch_url, slices, spill_chars
        self.buffer: list[tuple[int, tuple[int, str], Document]] = []
        self.chars = 0

    def start_bundle(self) -> None:
        self.buffer, self.chars = [], 0

    def process(self, doc: Document):
        key = order_key(doc.id)
        self.buffer.append((range_of(key[0], self.slices), key, doc))
        self.chars += len(doc.text)
        if self.chars >= self.spill_chars:
            yield from self._flush()

    def finish_bundle(self):
        for pair in self._flush():
            yield GlobalWindows.windowed_value(pair)

    def _flush(self):
        if not self.buffer:
            return
        with charged_to("spill"):
            self.buffer.sort(key=lambda entry: entry[:2])
            by_slice: dict[int, list[Document]] = {}
            for slice_, _, doc in self.buffer:
                by_slice.setdefault(slice_, []).append(doc)
            url = storage.join(self.scratch_url, "runs", f"{uuid.uuid4().hex}.pickle.zst")
            refs = write_frames(url, by_slice.values())
        self.buffer, self.chars = [], 0
        yield from zip(by_slice, refs)


class SpillDocuments(beam.PTransform):
    """documents -> (slice, FrameRef) for every frame written under `scratch_url`/runs/."""

    def __init__(self, scratch_url: str, slices: int, spill_chars: int = SPILL_CHARS):
        super().__init__()
        if slices < 1:
            raise ValueError(f"slices must be at least 1, got {slices}")
        self.scratch_url, self.slices, self.spill_chars = scratch_url, slices, spill_chars

    def expand(self, docs):
        return docs | "Spill" >> beam.ParDo(_SpillFn(self.scratch_url, self.slices, self.spill_chars))
