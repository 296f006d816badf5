"""TrainingOrder: the seeded global shuffle of every token part, written to tokens/order.npy.

It needs only each part's document and token counts (one small tuple per part), gathered
once the parts are written; the shuffle itself is formats/order.py.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.order import training_order, write_order


class TrainingOrder(beam.PTransform):
    """(part, documents, tokens) per part -> facts; writes the order file."""

    def __init__(self, version_url: str, config: dict[str, Any], seed: int):
        super().__init__()
        self.version_url = version_url
        self.config = config
        self.seed = seed

    def expand(self, token_parts):
        return token_parts | "All" >> beam.combiners.ToList() | "Write" >> beam.FlatMap(self._write)

    def _write(self, parts: list[tuple[int, int, int]]):
        rows = training_order(parts, self.config["unit"], self.config["window_tokens"], self.seed)
        write_order(storage.join(self.version_url, layout.TOKEN_ORDER), rows)
        yield ("files", layout.TOKEN_ORDER, "documents"), sum(p[1] for p in parts)
        yield ("files", layout.TOKEN_ORDER, "tokens"), sum(p[2] for p in parts)
