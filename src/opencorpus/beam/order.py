"""TrainingOrder: the seeded global shuffle of every token part, written to tokens/order.npy.

It needs only each part's document and token counts (one small tuple per part), gathered
once the parts are written; the shuffle itself is formats/order.py.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from opencorpus import storage
from opencorpus.beam.write import DIGESTS
from opencorpus.formats import layout
from opencorpus.formats.order import training_order, write_order


class TrainingOrder(beam.PTransform):
    """(part, documents, tokens) per part -> facts (main) and DIGESTS; writes the order file."""

    def __init__(self, version_url: str, config: dict[str, Any], seed: int):
        super().__init__()
        self.version_url = version_url
        self.config = config
        self.seed = seed

    def expand(self, token_parts):
        return (
            token_parts
            | "All" >> beam.combiners.ToList()
            | "Write" >> beam.FlatMap(self._write).with_outputs(DIGESTS, main="facts")
        )

    def _write(self, parts: list[tuple[int, int, int]]):
        rows = training_order(parts, self.config["unit"], self.config["window_tokens"], self.seed)
        digest = write_order(storage.join(self.version_url, layout.TOKEN_ORDER), rows)
        yield beam.pvalue.TaggedOutput(DIGESTS, (layout.TOKEN_ORDER, digest))
        yield ("files", layout.TOKEN_ORDER, "documents"), sum(p[1] for p in parts)
        yield ("files", layout.TOKEN_ORDER, "tokens"), sum(p[2] for p in parts)
