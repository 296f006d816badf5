"""Stage calls stay safe when the SDK harness runs bundles on threads."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from opencorpus.beam.stage import staged
from opencorpus.document import DeadLetter
from opencorpus.recipe import parse_recipe
from opencorpus.sources import read_source_file, source_files
from opencorpus.stages.quality import QualityFilter

DEMO = Path(__file__).parent / "data" / "demo"


def test_concurrent_bundles_do_not_break_shared_tokenizers():
    # datatrove's word tokenizer (one spaCy tokenizer per process) fails under concurrent calls;
    # Beam runs bundles of one process on several threads, each with its own DoFn instance.
    recipe = parse_recipe(f"name: t\ndate: 2026-11-01\nsources: [{{name: lib, uri: {DEMO}/libzstd-lib.jsonl.zst, kind: code}}]\n")
    spec = recipe.sources[0]
    docs = [d for f in source_files(spec, spec.uri, str(DEMO)) for d in read_source_file(spec, f, recipe.date)]
    filters = [QualityFilter(recipe.stage("quality")) for _ in range(4)]
    for stage in filters:
        stage.setup()

    def run(stage):
        return list(staged([stage], docs, batch=1))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, filters))
    assert not [o for outcomes in results for o in outcomes if isinstance(o, DeadLetter)]
    assert all(len(outcomes) == len(docs) for outcomes in results)
