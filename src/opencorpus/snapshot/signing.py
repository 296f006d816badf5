"""Signed snapshots: an Ed25519 signature over manifest.json, which names every file by sha256.

`keygen` writes a key pair as PEM files (the private key mode 0600); `sign` writes
`manifest.json.sig` beside the manifest: a small JSON with the signature, the manifest's sha256
and the signer's public key fingerprint; `check_signature` tells whether the manifest is signed
by a given public key. Verifying every file against the manifest (snapshot/verify.py) then
extends the signature to the whole version. The signature file is not in the manifest (it is
made after it), and verify does not count it as an unlisted file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json

ALGORITHM = "ed25519"


class SigningError(ValueError):
    """A key that cannot be read, a signature that is missing, malformed or does not match."""


def keygen(prefix: str) -> tuple[Path, Path]:
    """Write PREFIX.key (private, PKCS#8 PEM, mode 0600) and PREFIX.pub (SubjectPublicKeyInfo PEM).

    Refuses (FileExistsError) to overwrite either: a lost private key cannot be made again.
    """
    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists; keys are never overwritten")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def fingerprint(public: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex: how a signature names its signer."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_private_key(path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise SigningError(f"{path}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 key (opencorpus keygen makes one)")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as e:
        raise SigningError(f"{path}: not a PEM public key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: not an Ed25519 public key (opencorpus keygen makes one)")
    return key


def sign(version_url: str, key: Ed25519PrivateKey) -> str:
    """Write `manifest.json.sig` for the version; returns its URL. FileExistsError when signed already."""
    manifest = storage.read_bytes(storage.join(version_url, layout.MANIFEST))
    record = {
        "algorithm": ALGORITHM,
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "public_key_sha256": fingerprint(key.public_key()),
        "signature": base64.b64encode(key.sign(manifest)).decode("ascii"),
    }
    url = storage.join(version_url, layout.SIGNATURE)
    storage.write_exclusive(url, canonical_json(record))
    return url


def check_signature(version_url: str, public: Ed25519PublicKey) -> str:
    """The signer's fingerprint when the version's manifest is signed by `public`; SigningError otherwise."""
    url = storage.join(version_url, layout.SIGNATURE)
    if not storage.exists(url):
        raise SigningError(f"{url}: the snapshot is not signed")
    try:
        record = json.loads(storage.read_bytes(url))
        signature = base64.b64decode(record["signature"], validate=True)
        algorithm, signer = record["algorithm"], record["public_key_sha256"]
    except (ValueError, KeyError, TypeError) as e:
        raise SigningError(f"{url}: not a signature file ({type(e).__name__})") from None
    if algorithm != ALGORITHM:
        raise SigningError(f"{url}: algorithm {algorithm!r}, expected {ALGORITHM!r}")
    expected = fingerprint(public)
    if signer != expected:
        raise SigningError(f"{url}: signed by key {signer[:16]}…, not by the given public key ({expected[:16]}…)")
    manifest = storage.read_bytes(storage.join(version_url, layout.MANIFEST))
    try:
        public.verify(signature, manifest)
    except InvalidSignature:
        raise SigningError(f"{url}: the signature does not match manifest.json (changed after signing?)") from None
    return expected
