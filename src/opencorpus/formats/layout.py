"""Fixed file names inside a snapshot version (DESIGN.md "Snapshot on storage").

Writers (beam/) and readers (snapshot/, lookup/) both name files through here.
"""

MANIFEST = "manifest.json"
RUN = "run.json"
LATEST = "LATEST"
RECIPE = "recipe.yaml"
STATS = "stats.json"
TOKENIZER = "tokenizer/tokenizer.json"
DEAD_LETTER = "dead_letter/dead_letter.jsonl.zst"
# Files the manifest does not list: itself, and run facts that differ between runs.
UNLISTED = (MANIFEST, RUN)


def part_name(part: int) -> str:
    return f"part-{part:05d}"


def documents_part(part: int) -> str:
    return f"documents/{part_name(part)}.jsonl.zst"


def removed_part(part: int) -> str:
    return f"removed/{part_name(part)}.jsonl.zst"


def tokens_part(part: int, suffix: str) -> str:
    """suffix: 'bin', 'idx' or 'csv.gz'."""
    return f"tokens/{part_name(part)}.{suffix}"
