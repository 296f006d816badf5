"""Lookup: "is this document in the snapshot, and under what license?" by hash, file or URL.

`reader` answers from the snapshot's index/ (formats/index.py); `server` is the HTTP API and
the web page in `static/`.
"""
