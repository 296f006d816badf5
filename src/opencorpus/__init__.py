"""opencorpus: disclosed, reproducible corpus curation and tokenization."""

__version__ = "0.1.0"
