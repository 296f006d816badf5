"""Properties of the two keys of the lookup index: `normalize_url` (by-url) and the canonical
text and hash (by-sha256). Total on any str, idempotent, stable: a key that moves when
computed again is a lookup that misses. Derandomized, so CI sees the same inputs."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from opencorpus.document import (
    canonical_hash,
    canonical_text,
    digest_of_canonical,
    normalize_url,
)

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=400)

# What URLs are made of, and what breaks parsers: brackets, ports, dot segments, ';' parameters,
# ASCII and Unicode spaces, controls, a character that lowercases to two, lone surrogates.
URL_CHARS = st.sampled_from(list("aZ09.:/?#[]@%;=& \t\n\r\x0b\x00\x1c\x85\u3000\u3002\ufb01\u0130é") + ["..", "\ud800"])
URL_PREFIXES = st.sampled_from(["", "http://", "HTTPS://", "ftp://", " http://", "http://a", "http://[::1]",
                                "http://u:p@h", "http://a:8080", "http://a//", "http://a/./", "http://a/b/.."])
URLISH = st.one_of(st.text(), st.builds(lambda prefix, rest: prefix + "".join(rest), URL_PREFIXES, st.lists(URL_CHARS)),
                   urls(), st.builds(lambda url, tail: url + "".join(tail), urls(), st.lists(URL_CHARS, max_size=4)))


def normalized_or_none(url: str) -> str | None:
    """normalize_url's answer, or None when it refuses (with a ValueError and nothing else)."""
    try:
        return normalize_url(url)
    except ValueError as e:  # any other exception fails the test on its own
        assert type(e) is ValueError, f"{type(e).__name__}: {e}"
        return None


@PROPERTY
@given(URLISH)
@example("https://http://a:")  # the path '//a:' was read as a host: 'https://http', then 'https://http/'
@example("http://a/b ?#x")  # trailing space left once the empty query and fragment were gone
@example("https://a/x ;")  # urljoin drops an empty ';' parameter, leaving a trailing space
@example("http://a/\ud800")  # a lone surrogate: no UTF-8 form, so no index key
def test_normalize_url_refuses_with_value_error_or_gives_a_fixed_point(url):
    once = normalized_or_none(url)
    if once is None:
        return
    assert normalize_url(once) == once
    assert once == once.strip() and "#" not in once
    once.encode("utf-8")  # index keys hash this


@pytest.mark.parametrize("url, normalized", [
    ("http://a//b/c", "http://a//b/c"),  # was "http://a/c": urljoin read '//b' as a host
    ("http://a//b/../c", "http://a//c"),
    ("HTTP://A/x/./y/../z?q=1 #f", "http://a/x/z?q=1"),
    ("http://a/b ?", "http://a/b"),
    ("http://[v1.X]:80/", "http://[v1.x]/"),  # an IPvFuture literal keeps its brackets
    ("http://[::1]@b/", "http://[::1]@b/"),  # brackets in the user name do not make the host a literal
])
def test_normalize_url_examples(url, normalized):
    assert normalize_url(url) == normalized


@pytest.mark.parametrize("url", ["http://a:port/", "http://[zz/", "http://a:-1/", "http://[::1]:99999999/",
                                 "http:///x", "http://a/\udfff", "", "mailto:x"])
def test_normalize_url_refusals_are_value_errors(url):
    with pytest.raises(ValueError) as refused:
        normalize_url(url)
    assert type(refused.value) is ValueError


TEXT_CHARS = st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x85\u2028\ufeffaé\u0301\u0327\u1e0a\u0323\u0307\u212b\u00c5"
                                  "\uac00\u1100\u1161\u11a8"))
VALID_TEXTS = st.text(st.one_of(st.characters(), TEXT_CHARS))  # characters() has no lone surrogates
TEXTS = st.text(st.one_of(st.characters(), TEXT_CHARS, st.just("\ud800")))


@PROPERTY
@given(TEXTS)
def test_canonical_text_is_total_and_idempotent(text):
    once = canonical_text(text)
    if once.startswith("\ufeff"):
        # DESIGN.md drops exactly one leading BOM; a second one (or one after leading
        # spaces) is text, and the next pass would drop it: the one documented exception.
        return
    assert canonical_text(once) == once


def test_canonical_text_drops_exactly_one_bom():
    assert canonical_text("\ufeff\ufeffx") == "\ufeffx"
    assert canonical_text(" \ufeffx") == "\ufeffx"


@PROPERTY
@given(VALID_TEXTS)
def test_canonical_hash_is_the_digest_of_the_canonical_text_whatever_the_form(text):
    digest = canonical_hash(text)
    assert len(digest) == 64 and digest == digest.lower() and int(digest, 16) >= 0
    assert digest == canonical_hash(text.encode("utf-8")) == digest_of_canonical(canonical_text(text))
    assert digest == hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()
    if not text.startswith("\ufeff"):
        # What the canonical form ignores: a BOM, CRLF, the NFD spelling, surrounding ASCII space.
        variant = "\ufeff \t" + unicodedata.normalize("NFD", text).replace("\n", "\r\n") + " \r\n"
        assert canonical_hash(variant) == digest
    if not canonical_text(text).startswith("\ufeff"):
        assert canonical_hash(canonical_text(text)) == digest


@PROPERTY
@given(st.text(), st.sampled_from(["\ud800", "\udfff"]))
def test_canonical_hash_of_a_lone_surrogate_is_a_unicode_encode_error(text, surrogate):
    canonical_text(text + surrogate)  # the text itself is fine
    with pytest.raises(UnicodeEncodeError):
        canonical_hash(text + surrogate)


@PROPERTY
@given(st.binary())
def test_canonical_hash_of_bytes_is_a_digest_or_a_unicode_decode_error(data):
    try:
        digest = canonical_hash(data)
    except UnicodeDecodeError:
        return
    assert digest == canonical_hash(data.decode("utf-8"))
