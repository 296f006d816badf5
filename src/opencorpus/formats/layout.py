"""Fixed file names inside a snapshot version (docs/ARCHITECTURE.md "Snapshot layout").

Writers (beam/) and readers (snapshot/, lookup/) both name files through here.
"""

MANIFEST = "manifest.json"
RUN = "run.json"
LATEST = "LATEST"
RECIPE = "recipe.yaml"
STATS = "stats.json"
TOKENIZER = "tokenizer/tokenizer.json"
DEAD_LETTER = "dead_letter/dead_letter.jsonl.zst"
# The lookup index (formats/index.py): its description, then one file per index and key prefix.
INDEX_META = "index/index.json"
# The seeded training order over every token part (formats/order.py).
TOKEN_ORDER = "tokens/order.npy"
# The OLMo/Dolma token layout's folder (formats/olmo_tokens.py).
OLMO_TOKENS = "tokens/olmo"
# Where a run keeps documents between reading and their part (formats/scratch.py); removed
# before the manifest is built, and with the rest of an unpublished version otherwise.
SCRATCH = "_scratch"
# Beside the versions of a corpus: one claim per version a live run is building (snapshot/claims.py).
RUNNING = "_running"
# The Ed25519 signature over the manifest (snapshot/signing.py), made after it.
SIGNATURE = "manifest.json.sig"
# What people and tools read about a version, made from its manifest and stats (cards/):
# a Hugging Face dataset card, Croissant 1.1 metadata, a page with plots, and the public
# summary of training content in the EU AI Act template's structure.
DATASET_CARD = "README.md"
CROISSANT = "croissant.json"
CARD_PAGE = "card.html"
CONTENT_SUMMARY = "training-content-summary.md"
CARDS = (DATASET_CARD, CROISSANT, CARD_PAGE, CONTENT_SUMMARY)
# Files the manifest does not list: itself, run facts that differ between runs, its signature.
UNLISTED = (MANIFEST, RUN, SIGNATURE)


def part_name(part: int) -> str:
    return f"part-{part:05d}"


def documents_part(part: int) -> str:
    return f"documents/{part_name(part)}.jsonl.zst"


def removed_part(part: int) -> str:
    return f"removed/{part_name(part)}.jsonl.zst"


def tokens_part(part: int, suffix: str) -> str:
    """suffix: 'bin', 'idx', 'csv.gz' or datatrove's 'ds', 'ds.index', 'ds.metadata'."""
    return f"tokens/{part_name(part)}.{suffix}"


def olmo_tokens_part(part: int, suffix: str) -> str:
    """suffix: 'npy' (token ids) or 'csv.gz' (Dolma's metadata rows); see formats/olmo_tokens.py.

    A folder of its own: Dolma's tools pair every .npy under a prefix with the .csv.gz of the same
    stem, so neither tokens/order.npy nor the Megatron layout's part .csv.gz may sit beside them.
    """
    return f"{OLMO_TOKENS}/{part_name(part)}.{suffix}"


def index_shard(index: str, prefix: str) -> str:
    """index: 'by-sha256' or 'by-url'; prefix: the keys' first hex digits (never user text)."""
    return f"index/{index}/{prefix}.jsonl.zst"
