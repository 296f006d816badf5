"""Placeholder: being written."""

from __future__ import annotations

from typing import Any


def render(manifest: dict[str, Any], stats: dict[str, Any]) -> bytes:
    return b"croissant\n"
