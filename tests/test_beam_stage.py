"""Stage calls stay safe when the SDK harness runs bundles on threads."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from opencorpus.beam.stage import staged
from opencorpus.document import DeadLetter
from opencorpus.recipe import parse_recipe
from opencorpus.sources import read_source_file, source_files
from opencorpus.stages.quality import QualityFilter, QualityOptions

DEMO = Path(__file__).parent / "data" / "demo"


def test_concurrent_bundles_do_not_break_shared_tokenizers():
    # datatrove's word tokenizer (one spaCy tokenizer per process) fails under concurrent calls;
    # Beam runs bundles of one process on several threads, each with its own DoFn instance.
    recipe = parse_recipe(f"name: t\ndate: 2026-11-01\nsources: [{{name: lib, uri: {DEMO}/libzstd-lib.jsonl.zst, kind: code}}]\n")
    spec = recipe.sources[0]
    docs = [d for f in source_files(spec, spec.uri, str(DEMO)) for d in read_source_file(spec, f, recipe.date)]
    filters = [QualityFilter(QualityOptions.from_options(recipe.stage("quality"))) for _ in range(4)]
    for stage in filters:
        stage.setup()

    def run(stage):
        return list(staged([stage], docs, batch=1))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, filters))
    assert not [o for outcomes in results for o in outcomes if isinstance(o, DeadLetter)]
    assert all(len(outcomes) == len(docs) for outcomes in results)


class _Overlaps:
    """A stage that records how many of its calls run at once."""

    name = "probe"

    def __init__(self, exclusive: bool, counter: dict):
        self.exclusive, self.counter = exclusive, counter

    def setup(self) -> None:
        pass

    def process(self, doc):
        import time

        with self.counter["lock"]:
            self.counter["now"] += 1
            self.counter["most"] = max(self.counter["most"], self.counter["now"])
        time.sleep(0.02)
        with self.counter["lock"]:
            self.counter["now"] -= 1
        yield doc


def _most_at_once(exclusive: bool) -> int:
    import threading

    from opencorpus.beam.stage import run_stage
    from opencorpus.document import Document

    counter = {"lock": threading.Lock(), "now": 0, "most": 0}
    stages = [_Overlaps(exclusive, counter) for _ in range(4)]
    docs = [Document(id=f"d{i}", text="t", source="s") for i in range(5)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda stage: run_stage(stage, docs), stages))
    return counter["most"]


def test_only_exclusive_stages_take_turns():
    assert _most_at_once(exclusive=True) == 1
    assert _most_at_once(exclusive=False) > 1
