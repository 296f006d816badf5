"""opencorpus: disclosed, reproducible corpus curation and tokenization.

`run_recipe` runs a recipe and publishes its snapshot (opencorpus/run.py), as `opencorpus run` does.
"""

__version__ = "0.1.0"

from opencorpus.run import RunResult, run_recipe  # noqa: E402  (after __version__, which run's imports read)

__all__ = ["RunResult", "__version__", "run_recipe"]
