"""The cards of a version: files made from its manifest and stats, so they are always true.

`with_cards` renders each card from the manifest of the data files (every file but the cards),
writes it into the version folder and returns the manifest that lists the cards too. A
renderer is a pure function (manifest, stats) -> bytes: the same snapshot gives the same
bytes, so the cards are part of the byte-identical contract like every other file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opencorpus import storage
from opencorpus.formats import layout

Renderer = Callable[[dict[str, Any], dict[str, Any]], bytes]


def renderers() -> tuple[tuple[str, Renderer], ...]:
    """(path, renderer) per card; imported here so that matplotlib loads only when cards are made."""
    from opencorpus.cards import content_summary, croissant, dataset_card, page

    return ((layout.DATASET_CARD, dataset_card.render), (layout.CROISSANT, croissant.render),
            (layout.CARD_PAGE, page.render), (layout.CONTENT_SUMMARY, content_summary.render))


def with_cards(version_url: str, manifest: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    """Write every card into the version folder; the manifest with them listed (files sorted)."""
    data_files = [f for f in manifest["files"] if f["path"] not in layout.CARDS]
    data_manifest = {**manifest, "files": data_files}
    cards = []
    for path, render in renderers():
        digest = storage.write_hashed(storage.join(version_url, path), render(data_manifest, stats))
        cards.append({"path": path, "sha256": digest.sha256, "bytes": digest.bytes})
    return {**manifest, "files": sorted(data_files + cards, key=lambda f: f["path"])}

