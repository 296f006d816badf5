"""Google Cloud Dataflow: the packages its workers need, and a dry run's job file, written offline.

Workers start from Beam's Python SDK image. Unless `--sdk_container_image` names an image that
already holds everything (docker/Dockerfile), the driver stages for them, through Beam's own
options: requirements.lock (Beam's `requirements.txt`, installed first), the spaCy model of the
recipe's pii stage and opencorpus itself, as wheels. Both wheels are made here, offline and
byte-for-byte reproducibly: ours is built from the source checkout (hatchling), the model's is
repacked from its installed files after checking each against the hash its RECORD gives.

Beam 2.77's `--dry_run=True` translates the job and returns before the Dataflow client exists,
writing nothing. `dry_run` finishes what Beam's `create_job_description` would do — container
image overrides, the artifacts' names in the staging location, the job's environment with its
options — with a client that records what it would upload instead of uploading it, and writes
one JSON file: `job` (the Dataflow Job as Beam would send it), `pipeline` (the portable pipeline
proto), `staged` (each file: name, staging URL, sha256, bytes) and `opencorpus` (what the dry
run did not look at). Options that name files of the driver's machine (the packages' local
paths, the job file) are left out of the job: workers get the staged files, not those paths.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apache_beam.options.pipeline_options import (
    DebugOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    TestOptions,
    WorkerOptions,
)

import opencorpus
from opencorpus.recipe import Recipe

log = logging.getLogger(__name__)

# Options whose values are paths on the driver's machine: what they name is staged (or, for the
# job file, written here), so the job carries none of them.
DRIVER_OPTIONS = ("extra_packages", "requirements_file", "setup_file", "files_to_stage",
                  "requirements_cache", "dataflow_job_file")
_FALSE = ("", "false", "0", "no", "off", "none")
# Wheels' file dates: fixed, so the same files make the same bytes (Beam caches staged files by sha256).
_WHEEL_DATE = (1980, 1, 1, 0, 0, 0)


class DataflowSetupError(ValueError):
    """Options or an installation a Dataflow job cannot be built from; the message says what to do."""


def is_dataflow(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner
    return isinstance(runner, str) and runner.rsplit(".", 1)[-1].lower() in ("dataflowrunner", "dataflow")


def dry_run_requested(options: PipelineOptions) -> bool:
    """Whether `--dry_run` asks for one; Beam takes any string as true (`--dry_run=False` too):
    here false-looking strings are false, and the option is set to the bool either way."""
    test = options.view_as(TestOptions)
    value = test.dry_run
    dry = value if isinstance(value, bool) else str(value).strip().lower() not in _FALSE
    test.dry_run = dry
    return dry


def container_image(options: PipelineOptions) -> str | None:
    worker = options.view_as(WorkerOptions)
    return worker.sdk_container_image or worker.worker_harness_container_image


# ---- what the workers need -------------------------------------------------------------------


@contextlib.contextmanager
def worker_packages(recipe: Recipe, options: PipelineOptions) -> Iterator[None]:
    """While the job is translated and staged, Beam's options name what workers must install.

    Nothing is added for another runner, or when a container image is given (it holds
    everything). Packages the user names themselves (`--extra_package`, `--requirements_file`)
    are kept, and take the place of ours for the same project. The options are restored after.
    """
    if not is_dataflow(options) or container_image(options):
        yield
        return
    setup = options.view_as(SetupOptions)
    saved = setup.extra_packages, setup.requirements_file
    given = {_project_of(path) for path in setup.extra_packages or []}
    # Beam warns that a staged wheel must suit the workers' platform: ours are pure Python.
    stager_log = logging.getLogger("apache_beam.runners.portability.stager")
    with tempfile.TemporaryDirectory(prefix="opencorpus-dataflow-") as folder:
        quiet = _NotAbout(folder)
        stager_log.addFilter(quiet)
        try:
            wheels = []
            model = _pii_model_distribution(recipe)
            if model is not None and _normalized(model) not in given:
                wheels.append(repack_installed(model, folder))
            if "opencorpus" not in given:
                wheels.append(our_wheel(folder))
            setup.extra_packages = (setup.extra_packages or []) + wheels
            if setup.requirements_file is None:
                setup.requirements_file = str(_lock_file())
            for path in wheels + [setup.requirements_file]:
                log.info("[dataflow]   staging %s", os.path.basename(path))
            yield
        finally:
            setup.extra_packages, setup.requirements_file = saved
            stager_log.removeFilter(quiet)


class _NotAbout(logging.Filter):
    """Drops log records that name a path in `folder`."""

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def filter(self, record: logging.LogRecord) -> bool:
        return self.folder not in record.getMessage()


def _source_root() -> Path | None:
    """The checkout opencorpus runs from (an editable install), or None for an installed wheel."""
    root = Path(opencorpus.__file__).resolve().parent.parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and re.search(r'(?m)^name = "opencorpus"$', pyproject.read_text(encoding="utf-8")):
        return root
    return None


def _lock_file() -> Path:
    root = _source_root()
    if root is None or not (root / "requirements.lock").is_file():
        raise DataflowSetupError("requirements.lock (the workers' pinned requirements) is not beside this "
                                 "installation of opencorpus: pass --requirements_file, or "
                                 "--sdk_container_image with an image from `make container`")
    return root / "requirements.lock"


def our_wheel(folder: str) -> str:
    """opencorpus as a wheel: built from the checkout, or repacked when installed from a wheel."""
    root = _source_root()
    if root is None:
        return repack_installed("opencorpus", folder)
    try:
        from hatchling.builders.wheel import WheelBuilder
    except ImportError:
        raise DataflowSetupError("building the opencorpus wheel for the workers needs hatchling "
                                 "(it is in requirements.lock): pip install hatchling") from None
    return next(iter(WheelBuilder(str(root)).build(directory=folder, versions=["standard"])))


def _pii_model_distribution(recipe: Recipe) -> str | None:
    """The installed distribution of the pii stage's spaCy model; None when the stage is off."""
    options = recipe.stage("pii")
    if options is None:
        return None
    from opencorpus.stages.pii import PiiSettings

    model = PiiSettings.from_options(options).nlp_model
    distributions = importlib.metadata.packages_distributions().get(model, [])
    if not distributions:
        raise DataflowSetupError(f"pii.nlp_model {model!r} is not an installed package, so it cannot be "
                                 "staged for the workers: install it here, or pass --sdk_container_image "
                                 "with an image that has it")
    return distributions[0]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _project_of(path: str) -> str:
    """The normalized project name of a wheel or sdist file name."""
    return _normalized(re.split(r"-\d", os.path.basename(path), maxsplit=1)[0])


def repack_installed(name: str, folder: str) -> str:
    """An installed distribution as a wheel, from the files its RECORD lists, each checked
    against RECORD's sha256 first (a changed file is refused, never staged)."""
    dist = importlib.metadata.distribution(name)
    meta_dir = next(str(f).split("/")[0] for f in dist.files or [] if str(f).endswith(".dist-info/METADATA"))
    wheel_meta = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")]
    if not tags or "Root-Is-Purelib: true" not in wheel_meta:
        raise DataflowSetupError(f"{name}: only pure-Python wheels can be repacked for the workers")
    skip = {f"{meta_dir}/{n}" for n in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    entries = []
    for file in dist.files or []:
        path = str(file)
        if path in skip or path.startswith("..") or "__pycache__/" in path:
            continue  # written by the installer (scripts, byte code, its own notes), not from the wheel
        if file.hash is None or file.hash.mode != "sha256":
            raise DataflowSetupError(f"{name}: {path} has no sha256 in its RECORD; cannot check it")
        data = Path(str(dist.locate_file(file))).read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if digest != file.hash.value:
            raise DataflowSetupError(f"{name}: {path} differs from the installed wheel's RECORD; reinstall it")
        entries.append((path, data, digest))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data, digest in entries:
        writer.writerow([path, f"sha256={digest}", len(data)])
    writer.writerow([f"{meta_dir}/RECORD", "", ""])
    version = dist.version
    target = os.path.join(folder, f"{_normalized(dist.metadata['Name'])}-{version}-{tags[0]}.whl")
    entries.sort(key=lambda e: (e[0].startswith(meta_dir), e[0]))  # the dist-info last, as wheels have it
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for path, data in [(p, d) for p, d, _ in entries] + [(f"{meta_dir}/RECORD", record.getvalue().encode())]:
            info = zipfile.ZipInfo(path, _WHEEL_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, data)
    return target


# ---- the dry run -----------------------------------------------------------------------------


def dry_run(plan, options: PipelineOptions, job_file: str, notes: dict[str, Any]) -> str:
    """Translate the plan's graph into a Dataflow job without submitting it, and write the job
    file (a local path); returns its absolute path. Touches no bucket and no network."""
    import apache_beam as beam
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

    try:
        from apache_beam.runners.dataflow.internal import apiclient  # noqa: F401
    except ImportError:
        raise DataflowSetupError("the DataflowRunner needs apache-beam[gcp]: pip install 'opencorpus[dataflow]'") from None

    from opencorpus.beam.pipeline import CurateCorpus

    if "://" in job_file:
        raise DataflowSetupError(f"--dataflow_job_file {job_file}: a dry run writes its job file on this machine")
    options.view_as(TestOptions).dry_run = True
    options.view_as(DebugOptions).dataflow_job_file = None  # Beam never writes it in a dry run; we do
    setup = options.view_as(SetupOptions)
    if setup.requirements_cache is None:
        setup.requirements_cache = "skip"  # filling it is a `pip download` of the whole lock
    with worker_packages(plan.recipe, options):
        try:
            p = beam.Pipeline(runner=DataflowRunner(), options=options)
        except ValueError as e:  # Beam's validation of the options: project id, locations
            raise DataflowSetupError(" ".join(str(e).split())) from None
        _ = p | "Curate" >> CurateCorpus(plan)
        # A dry run stops once the job is translated, before any client exists; the DataflowRunner
        # then sets .job on a plain PipelineResult, which Beam's annotations do not declare.
        job = p.run().job  # type: ignore[attr-defined]
        document = job_document(job, notes)
    path = os.path.abspath(job_file)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def job_document(job, notes: dict[str, Any]) -> dict[str, Any]:
    """What Beam's `create_job_description` makes of a translated job, recorded, not uploaded."""
    from google.protobuf import json_format

    dropped = _drop_driver_options(job.options)
    client = _recording_client_class()(job.options)
    client.create_job_description(job)
    return {
        "job": json.loads(job.json()),
        "pipeline": json_format.MessageToDict(job.proto_pipeline),
        "staged": client.staged,
        "opencorpus": {**notes, "options_not_sent": dropped},
    }


def _drop_driver_options(options: PipelineOptions) -> list[str]:
    """Unset the options that name the driver's files (their files are staged); returns their names."""
    dropped = []
    for name, value in sorted(options.get_all_options(retain_unknown_options=True).items()):
        values = value if isinstance(value, list) else [value]
        local = any(isinstance(v, str) and _is_local_path(v) for v in values)
        if value is not None and (name in DRIVER_OPTIONS or local):
            # Set on the shared values every view reads (the base class shows no option itself);
            # None is what get_all_options() and Beam's job environment leave out.
            options._all_options[name] = None
            dropped.append(name)
    return dropped


def _is_local_path(value: str) -> bool:
    return value.startswith(("/", "~", "./", "../")) or (os.sep in value and os.path.exists(value))


def _recording_client_class():
    from apache_beam.runners.dataflow.internal import apiclient

    class RecordingClient(apiclient.DataflowApplicationClient):
        """Beam's Dataflow client without its network half: no credentials, no API clients, and
        every file it would upload recorded (name, staging URL, sha256, size) instead."""

        def __init__(self, options: PipelineOptions):  # not super().__init__: it fetches credentials
            self.standard_options = options.view_as(StandardOptions)
            self.google_cloud_options = options.view_as(apiclient.GoogleCloudOptions)
            self._enable_caching = False
            self._root_staging_location = self.google_cloud_options.staging_location
            self.environment_version = apiclient._FNAPI_ENVIRONMENT_MAJOR_VERSION
            self._sdk_image_overrides = self._get_sdk_image_overrides(options)
            self.staged: list[dict[str, Any]] = []

        def _gcs_file_copy(self, from_path, to_path, sha256):
            self.staged.append({"name": posixpath.basename(to_path), "location": to_path,
                                "sha256": sha256 or self._compute_sha256(from_path),
                                "bytes": os.path.getsize(from_path)})

        def stage_file_with_retry(self, gcs_or_local_path, file_name, stream_or_path, *args, **kwargs):
            if isinstance(stream_or_path, str):
                data = Path(stream_or_path).read_bytes()
            else:
                data = stream_or_path.read()
            self.staged.append({"name": file_name, "location": posixpath.join(gcs_or_local_path, file_name),
                                "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})

    return RecordingClient
