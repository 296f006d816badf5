"""The canonical hash is a public contract: the CLI, the index and the web page must agree."""

import hashlib

import pytest

from opencorpus.document import canonical_hash, canonical_text


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("\ufeffhello", "hello"),                       # one leading BOM dropped
        ("\ufeff\ufeffhello", "\ufeffhello"),           # only one
        ("a\r\nb\rc\n", "a\nb\nc"),                     # CRLF and CR become LF; trailing LF stripped
        ("e\u0301", "\u00e9"),                          # NFC
        (" \t\v\fx y \n", "x y"),                       # ASCII whitespace at both ends only
        ("\u00a0x\u00a0", "\u00a0x\u00a0"),             # NBSP is not ASCII whitespace
        ("", ""),
    ],
)
def test_canonical_text(raw, canonical):
    assert canonical_text(raw) == canonical
    assert canonical_hash(raw) == sha(canonical)


def test_bytes_are_strict_utf8():
    assert canonical_hash("héllo".encode()) == canonical_hash("héllo")
    with pytest.raises(UnicodeDecodeError):
        canonical_hash(b"caf\xe9")


def test_known_value():
    # sha256("hello") — any other implementation (the web page) must print the same.
    assert canonical_hash("\ufeffhello\r\n") == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
