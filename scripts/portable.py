"""Run a recipe through Beam's portable Job API on this machine, without Docker or network.

Beam's local job service (the Job API, as Flink, Spark and Dataflow Runner v2 speak it) and a
separate SDK worker pool (`--environment_type EXTERNAL`) are started as subprocesses bound to
127.0.0.1, the run is submitted with PortableRunner, and both are stopped afterwards:

    python scripts/portable.py run pipelines/demo.yaml [--output DIR] [-- more beam args]

`services()` is the same thing as a context manager, for tests. The two servers are started
through this file (`job-service`, `worker-pool`) rather than Beam's own mains because those
listen on every interface ([::]) and need a port chosen in advance; here every gRPC server
listens on 127.0.0.1 only, on a port the OS picks, which is written to a file once it listens.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from opencorpus.cli import split_beam_args

START_TIMEOUT = 60.0  # seconds for a service to listen; importing Beam takes a few
STOP_TIMEOUT = 15.0


def _loopback_only() -> None:
    """Make every gRPC server of this process listen on 127.0.0.1, never on all interfaces."""
    import grpc._server

    add = grpc._server._Server.add_insecure_port

    def add_loopback(self, address: str) -> int:
        host, _, port = address.rpartition(":")
        if host in ("[::]", "0.0.0.0", "", "[::0]"):
            address = f"127.0.0.1:{port}"
        return add(self, address)

    grpc._server._Server.add_insecure_port = add_loopback


def _write_port(port_file: str, port: int) -> None:
    tmp = port_file + ".tmp"
    Path(tmp).write_text(str(port))
    os.replace(tmp, port_file)  # whoever waits for it sees the whole number or nothing


def _serve_forever() -> None:
    # SIGTERM -> SystemExit, so atexit handlers run (the worker pool's stops its workers).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def serve_job_service(port_file: str, staging_dir: str | None) -> None:
    import logging

    _loopback_only()
    from apache_beam.runners.portability.local_job_service import LocalJobServicer

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    servicer = LocalJobServicer(staging_dir)
    try:
        _write_port(port_file, servicer.start_grpc_server(0))
        _serve_forever()
    finally:
        servicer.stop()


def serve_worker_pool(port_file: str) -> None:
    import logging

    _loopback_only()
    from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Workers are started as `python -c ...`: the python first on PATH must be this one.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    # Beam's pool pipes each worker's stdout and never reads it: a worker that prints 64 KiB
    # would block. Its stdout goes to the pool's (our log file) instead.
    popen = subprocess.Popen

    def popen_unpiped(*args, **kwargs):
        if kwargs.get("stdout") is subprocess.PIPE:
            kwargs["stdout"] = None
        return popen(*args, **kwargs)

    subprocess.Popen = popen_unpiped
    address, server = BeamFnExternalWorkerPoolServicer.start(use_process=True, port=0)
    try:
        _write_port(port_file, int(address.rsplit(":", 1)[1]))
        _serve_forever()
    finally:
        server.stop(0)


class ServiceError(RuntimeError):
    pass


class _Service:
    def __init__(self, name: str, args: list[str], workdir: Path, env: dict[str, str]):
        self.name = name
        self.port_file = workdir / f"{name}.port"
        self.log = workdir / f"{name}.log"
        self.port_file.unlink(missing_ok=True)
        with open(self.log, "wb") as log:
            # Its own session: stopping it also reaches the workers it started (by this group id).
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), name, "--port-file", str(self.port_file), *args],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_port(self, deadline: float, timeout: float) -> int:
        while time.monotonic() < deadline:
            if self.port_file.exists():
                return int(self.port_file.read_text())
            if self.proc.poll() is not None:
                raise ServiceError(f"the {self.name} exited with code {self.proc.returncode} before listening; "
                                   f"its log ({self.log}):\n{self.tail()}")
            time.sleep(0.1)
        raise ServiceError(f"the {self.name} did not listen within {timeout:g} s; its log ({self.log}):\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers left behind in its group, if any


@dataclasses.dataclass
class Services:
    beam_args: list[str]  # what submits a run to them, after `opencorpus run RECIPE --`
    pids: list[int]  # the job service's and the worker pool's; each leads its own process group
    workdir: Path  # their working folder, with a log per service


@contextlib.contextmanager
def services(workdir: str | os.PathLike, env: dict[str, str] | None = None,
             timeout: float = START_TIMEOUT) -> Iterator[Services]:
    """Start a job service and a worker pool (cwd and logs in `workdir`, environment `env`);
    both are stopped on leaving, even on failure."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if env is None else env)
    started: list[_Service] = []
    try:
        job = _Service("job-service", ["--staging-dir", str(workdir / "staging")], workdir, env)
        started.append(job)
        pool = _Service("worker-pool", [], workdir, env)
        started.append(pool)
        deadline = time.monotonic() + timeout
        job_port, pool_port = job.wait_port(deadline, timeout), pool.wait_port(deadline, timeout)
        yield Services(["--runner=PortableRunner", f"--job_endpoint=localhost:{job_port}",
                        "--environment_type=EXTERNAL", f"--environment_config=localhost:{pool_port}"],
                       [job.proc.pid, pool.proc.pid], workdir)
    finally:
        for service in reversed(started):
            service.stop()
            service.port_file.unlink(missing_ok=True)
        shutil.rmtree(workdir / "staging", ignore_errors=True)


def run(recipe: str, opencorpus_args: list[str], beam_args: list[str], workdir: str) -> int:
    with services(workdir) as portable:
        command = [os.path.join(os.path.dirname(sys.executable), "opencorpus"), "run", recipe,
                   *opencorpus_args, "--", *portable.beam_args, *beam_args]
        print("+ " + " ".join(command), file=sys.stderr, flush=True)
        code = subprocess.call(command)
        if code != 0:
            print(f"portable run failed ({code}); service logs in {workdir}", file=sys.stderr)
        return code


def main(argv: list[str] | None = None) -> int:
    argv, beam_args = split_beam_args(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run RECIPE through a local job service and worker pool")
    r.add_argument("recipe")
    r.add_argument("--output", help="snapshot root (passed to opencorpus run)")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--workdir", default="build/portable", help="services' working folder and logs")
    j = sub.add_parser("job-service")
    j.add_argument("--port-file", required=True)
    j.add_argument("--staging-dir")
    w = sub.add_parser("worker-pool")
    w.add_argument("--port-file", required=True)
    args = parser.parse_args(argv)
    if args.command == "job-service":
        serve_job_service(args.port_file, args.staging_dir)
    elif args.command == "worker-pool":
        serve_worker_pool(args.port_file)
    else:
        extra = (["--output", args.output] if args.output else []) + (["--quiet"] if args.quiet else [])
        try:
            return run(args.recipe, extra, beam_args, args.workdir)
        except ServiceError as e:
            print(f"portable: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
