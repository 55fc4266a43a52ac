"""Real signals sent to a real `pytest -n 2` run (and to its whole process group, as CI runners
send them), on the moto default and on the aws path against a moto server on 127.0.0.1: the
controller deletes what the workers deployed, the run exits 128 + N, and no temporary folder
of the plugin is left. Also: a SIGTERM during `sm_endpoint_factory.many` stops at once, and a
SIGTERM that user code swallowed does not keep the run going."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_smendpoint.endpoints.signals import SessionStopped, SignalGuard
from pytest_smendpoint.tempdirs import (
    MODEL_PREFIX,
    PACK_PREFIX,
    SOURCE_PREFIX,
    XDIST_PREFIX,
    owner_pid,
    remove_stale,
    scratch_folder,
)

pytestmark = pytest.mark.slow  # real signals to pytest subprocesses

# Every process of the run (controller and workers) writes each successful create and delete
# to $SM_CALLS_FILE: moto's own trick, a handler in BUILTIN_HANDLERS reaches every client.
INNER_CONFTEST = r'''
import io, json, os, signal, time
import pytest
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from pytest_smendpoint import ModelSpec

MARKS = os.environ["SM_MARK_DIR"]
NAMES = {"Endpoint": "EndpointName", "EndpointConfig": "EndpointConfigName", "Model": "ModelName"}


def mark(name, text=""):
    # Written whole, then renamed: the outer test reads a mark as soon as it exists.
    path = os.path.join(MARKS, name)
    with open(path + ".part", "w") as handle:
        handle.write(text)
    os.replace(path + ".part", path)


def _named(parameter):
    def handler(params, context, **kwargs):
        context["sm_name"] = params[parameter]
    return handler


def _done(line):
    def handler(http_response, context, **kwargs):
        if http_response.status_code == 200 and "sm_name" in context:
            with open(os.environ["SM_CALLS_FILE"], "a") as out:
                who = os.environ.get("PYTEST_XDIST_WORKER", "controller")
                out.write(f"{line} {context['sm_name']} {who}\n")
    return handler


for _kind, _parameter in NAMES.items():
    for _verb in ("Create", "Delete"):
        _operation = _verb + _kind
        _before = f"before-parameter-build.sagemaker.{_operation}"
        BUILTIN_HANDLERS.append((_before, _named(_parameter)))
        BUILTIN_HANDLERS.append((f"after-call.sagemaker.{_operation}", _done(f"{_verb} {_kind}")))


def _slow_delete(**kwargs):
    mark("deleting")
    time.sleep(1.5)  # sleep-ok: holds the controller's teardown open for a second signal


if os.environ.get("SM_SLOW_DELETE") and "PYTEST_XDIST_WORKER" not in os.environ:
    BUILTIN_HANDLERS.append(("before-send.sagemaker.DeleteEndpoint", _slow_delete))


def pytest_configure_node(node):
    """The controller, while xdist brings the workers up."""
    if os.environ.get("SM_SIGNAL_AT_START"):
        os.kill(os.getpid(), signal.SIGTERM)


class RawBody(io.BytesIO):
    def stream(self, amt=None, decode_content=None):
        yield self.read()


def creating(request, **kwargs):
    """The endpoint stays Creating (moto's is InService at once), as a real deploy does."""
    mark("waiting")
    name = json.loads(request.body)["EndpointName"]
    body = {"EndpointName": name, "EndpointConfigName": name, "EndpointStatus": "Creating",
            "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + name,
            "CreationTime": 0, "LastModifiedTime": 0}
    return AWSResponse(request.url, 200, {}, RawBody(json.dumps(body).encode()))


@pytest.fixture(scope="session")
def sm_model():
    return ModelSpec(image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/custom:1",
                     role_arn="arn:aws:iam::123456789012:role/ci")


@pytest.fixture(scope="session", autouse=True)
def _stall(sm_backend):
    if os.environ.get("SM_STALL"):
        sm_backend.boto_session.events.register_first(
            "before-send.sagemaker.DescribeEndpoint", creating)
    yield
'''

# test_long[0] holds its worker (and the run) until the outer test signals; [1] is quick.
INNER_TEST = r"""
import os, time, pytest

@pytest.mark.parametrize("n", range(2))
def test_long(sm_endpoint, n):
    path = os.path.join(os.environ["SM_MARK_DIR"], f"testing-{n}")
    with open(path + ".part", "w") as handle:  # whole before it exists: the pid is read at once
        handle.write(str(os.getpid()))
    os.replace(path + ".part", path)
    if n == 0:
        time.sleep(30)  # sleep-ok: the outer test signals the run meanwhile
"""

# A bring-your-own model for the moto default's serving: answers /ping and /invocations.
SERVE = r"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        self.wfile.write(b"1\n")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)  # sleep-ok: polling a file the child writes


class Run:
    """One inner pytest session in its own process group, with its marks, its call ledger and
    its own TMPDIR (so that what it leaves there is its own)."""

    def __init__(self, folder: Path, args: list[str], env: dict[str, str]) -> None:
        self.marks = folder / "marks"
        self.tmp = folder / "tmp"
        self.calls = folder / "calls.txt"
        self.marks.mkdir()
        self.tmp.mkdir(exist_ok=True)
        env = {
            **os.environ,
            **env,
            "SM_MARK_DIR": str(self.marks),
            "SM_CALLS_FILE": str(self.calls),
            "TMPDIR": str(self.tmp),
        }
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", *args]
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a CI job's
        )

    def wait_for(self, mark: str) -> None:
        wait_for(self.marks / mark, self.process)

    def send(self, signum: int, target: str) -> None:
        if target == "group":
            os.killpg(self.process.pid, signum)
        elif target == "worker":
            os.kill(int((self.marks / "testing-0").read_text()), signum)
        else:
            self.process.send_signal(signum)

    def finish(self, timeout: float = 90) -> str:
        output, _ = self.process.communicate(timeout=timeout)
        return output

    def ledger(self, verb: str) -> list[tuple[str, str]]:
        """(resource, process) for each successful call of this verb, in every process."""
        lines = self.calls.read_text().splitlines() if self.calls.exists() else []
        rows = [line.split(" ") for line in lines if line.startswith(verb + " ")]
        return [(f"{kind} {name}", who) for _, kind, name, who in rows]

    def left_in_account(self) -> list[str]:
        """What was created and not deleted, from the ledger of every process."""
        deleted = {resource for resource, _ in self.ledger("Delete")}
        return [resource for resource, _ in self.ledger("Create") if resource not in deleted]

    def created(self) -> list[str]:
        return [resource for resource, _ in self.ledger("Create")]

    def deleters(self) -> set[str]:
        return {who for _, who in self.ledger("Delete")}

    def serving_processes(self) -> list[str]:
        """Processes still running this run's serve.py (Linux: /proc)."""
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                command = cmdline.read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue  # ended meanwhile
            if str(self.marks.parent / "serve.py") in command:
                found.append(command)
        return found

    def plugin_folders(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir() if "smendpoint" in p.name)


@pytest.fixture
def start(pytester: pytest.Pytester) -> Iterator[Any]:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TEST)
    (pytester.path / "serve.py").write_text(SERVE)
    runs: list[Run] = []

    def start(args: list[str], **env: str) -> Run:
        run = Run(pytester.path, args, env)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()


def backend_args(backend: str, serve: Path) -> list[str]:
    if backend == "aws":
        return ["--sm-backend=aws"]
    return [f"--sm-serve-command={sys.executable} {serve} {{port}}"]


@pytest.fixture
def account(request: pytest.FixtureRequest) -> Any:
    """The aws path's moto server (fresh, AWS_ENDPOINT_URL set), or None for the moto default."""
    if request.param == "aws":
        return request.getfixturevalue("moto_server")
    return None


SIGNALLED = [
    # (backend, signal, whom): SIGINT exits 2, pytest's own code for Ctrl-C, as without xdist
    ("moto", signal.SIGTERM, "controller"),
    ("moto", signal.SIGHUP, "group"),
    ("moto", signal.SIGINT, "group"),
    ("aws", signal.SIGTERM, "group"),
    ("aws", signal.SIGHUP, "controller"),
    ("aws", signal.SIGINT, "controller"),
]
EXIT = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: pytest.ExitCode.INTERRUPTED}


@pytest.mark.parametrize(
    ("account", "signum", "target"),
    [pytest.param(b, s, t, id=f"{b}-{s.name}-{t}") for b, s, t in SIGNALLED],
    indirect=["account"],
)
def test_a_signal_under_xdist_deletes_what_workers_deployed(
    start: Any, pytester: pytest.Pytester, account: Any, signum: signal.Signals, target: str
) -> None:
    backend = "aws" if account is not None else "moto"
    run = start(["-n", "2", *backend_args(backend, pytester.path / "serve.py")])
    run.wait_for("testing-0")
    run.send(signum, target)
    output = run.finish()
    assert run.process.returncode == EXIT[signum], output
    assert len(run.created()) == 3, output  # model, endpoint config, endpoint: then deleted
    assert run.left_in_account() == [], output
    assert run.deleters() == {"controller"}, output  # workers leave deletion to it
    if account is not None:
        assert account.inventory().empty, output
    assert "teardown deleted" in output
    assert run.plugin_folders() == [], output
    assert run.serving_processes() == [], output


@pytest.mark.parametrize("account", ["moto", "aws"], indirect=True)
def test_a_worker_killed_with_sigkill_leaves_nothing(
    start: Any, pytester: pytest.Pytester, account: Any
) -> None:
    backend = "aws" if account is not None else "moto"
    run = start(["-n", "2", *backend_args(backend, pytester.path / "serve.py")])
    run.wait_for("testing-0")
    run.send(signal.SIGKILL, "worker")
    output = run.finish()
    # xdist reports the crashed worker's test as failed: exit code 1.
    assert run.process.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "crashed while running 'test_inner.py::test_long[0]'" in output
    assert run.left_in_account() == [], output
    if account is not None:
        assert account.inventory().empty, output
    assert run.plugin_folders() == [], output


def test_a_second_signal_during_the_controllers_deletion_is_recorded_not_obeyed(
    start: Any, pytester: pytest.Pytester
) -> None:
    serve = pytester.path / "serve.py"
    run = start(["-n", "2", *backend_args("moto", serve)], SM_SLOW_DELETE="1")
    run.wait_for("testing-0")
    run.send(signal.SIGHUP, "group")
    run.wait_for("deleting")
    run.send(signal.SIGTERM, "controller")
    output = run.finish()
    assert run.process.returncode == 129, output  # the first signal's
    assert run.left_in_account() == [], output
    assert run.deleters() == {"controller"}, output


def finished_pid() -> int:
    """The pid of a process that has ended (a killed run's)."""
    command = [sys.executable, "-c", "import os; print(os.getpid())"]
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def test_a_signal_while_xdist_brings_workers_up_stops_in_order_and_old_folders_go(
    start: Any, pytester: pytest.Pytester
) -> None:
    tmp = pytester.path / "tmp"
    stale = tmp / f"{XDIST_PREFIX}{finished_pid()}-0123abcd"  # a killed run's
    alive = tmp / f"{XDIST_PREFIX}{os.getpid()}-0123abcd"  # a live run's: this test's pid
    for folder in (stale, alive):
        folder.mkdir(parents=True)
        (folder / "key.intent.json").write_text("{}")
    serve = pytester.path / "serve.py"
    run = start(["-n", "2", *backend_args("moto", serve)], SM_SIGNAL_AT_START="1")
    output = run.finish()
    assert run.process.returncode == 143, output
    assert "SIGTERM received: pytest-smendpoint stops the session" in output
    assert run.created() == [], output
    assert run.plugin_folders() == [alive.name], output


def test_only_folders_of_dead_owners_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pid = finished_pid()
    dead = tmp_path / f"{XDIST_PREFIX}{pid}-0123abcd"
    dead_pack = tmp_path / f"{PACK_PREFIX}{pid}-k2_x9abc"  # tempfile's random name
    dead_model = tmp_path / f"{MODEL_PREFIX}{pid}-pytest-sm-1-ab12-k2_x9abc"  # a served model
    alive = tmp_path / f"{XDIST_PREFIX}{os.getppid()}-0123abcd"
    unnamed = tmp_path / f"{XDIST_PREFIX}0123abcd"  # no owner in its name: never removed
    serving = tmp_path / f"smendpoint-pack-{pid}-0123abcd"  # an endpoint named pack-<digits>
    for folder in (dead, dead_pack, dead_model, alive, unnamed, serving):
        folder.mkdir()
        (folder / "x.intent.json").write_text("{}")
    assert sorted(remove_stale()) == sorted([dead, dead_pack, dead_model])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (alive, unnamed, serving)
    )


def test_a_scratch_folder_is_named_for_its_process_and_gone_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_folder(SOURCE_PREFIX) as scratch:
        assert scratch.parent == tmp_path
        assert owner_pid(scratch, SOURCE_PREFIX) == os.getpid()
    assert list(tmp_path.iterdir()) == []


# -- without xdist: the factory's deploys, and a stop that user code swallowed --------------

MANY_TEST = r"""
import os

def test_many(sm_endpoint_factory):
    sm_endpoint_factory.many([{"instance_type": "ml.c5.large"}, {"instance_type": "ml.c5.xlarge"}])
"""

SWALLOWING_TEST = r"""
import os, signal, time

def test_swallows(sm_endpoint):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # sleep-ok: the signal's handler raises in here
    except BaseException:
        pass  # user code that swallows everything, KeyboardInterrupt included
    with open(os.path.join(os.environ["SM_MARK_DIR"], "swallowed"), "w"):
        pass
    time.sleep(30)  # sleep-ok: the outer test signals again meanwhile
"""


def test_sigterm_during_factory_many_stops_the_waiting_deploys_at_once(
    start: Any, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_inner=MANY_TEST)
    # Without the stop, teardown would wait for both deploys until --sm-deploy-timeout.
    args = ["--sm-deploy-timeout=300", *backend_args("moto", pytester.path / "serve.py")]
    run = start(args, SM_STALL="1")
    run.wait_for("waiting")
    signalled = time.monotonic()
    run.send(signal.SIGTERM, "controller")
    output = run.finish()
    assert time.monotonic() - signalled < 15, output
    assert run.process.returncode == 143, output
    assert len(run.created()) >= 3, output  # one deploy at least had created all three
    assert run.left_in_account() == [], output


def test_a_swallowed_sigterm_does_not_keep_the_run_going(
    start: Any, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_inner=SWALLOWING_TEST)
    run = start(backend_args("moto", pytester.path / "serve.py"))
    run.wait_for("swallowed")
    run.send(signal.SIGTERM, "controller")  # the second: raised again, and not swallowed
    output = run.finish(timeout=20)
    assert run.process.returncode == 143, output
    assert len(run.created()) == 3, output
    assert run.left_in_account() == [], output


def test_every_stop_signal_raises_until_the_session_is_finishing() -> None:
    guard = SignalGuard()
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGTERM):
        with pytest.raises(SessionStopped):
            guard._handle(signum, None)
    guard.finishing = True
    guard._handle(signal.SIGTERM, None)  # teardown: recorded, not obeyed
    assert guard.received == [signal.SIGTERM, signal.SIGHUP, signal.SIGTERM, signal.SIGTERM]
    assert guard.exit_code == 143


def test_a_stop_ends_a_deploy_wait_on_another_thread() -> None:
    from pytest_smendpoint.aws.signal_holding import stopping
    from pytest_smendpoint.aws.waiting import WaitStopped, wait_in_service

    class Creating:
        def describe_endpoint(self, EndpointName: str) -> dict[str, str]:
            return {"EndpointStatus": "Creating"}

    guard = SignalGuard()
    with guard.installed():
        with pytest.raises(SessionStopped):
            guard._handle(signal.SIGTERM, None)
        assert stopping.is_set()
        started = time.monotonic()
        with pytest.raises(WaitStopped) as stopped:
            wait_in_service(Creating(), "ep", timeout=600)
        assert time.monotonic() - started < 1
    assert not stopping.is_set()  # the next session in this process is not stopped
    assert str(stopped.value) == (
        "endpoint 'ep' still Creating: the session is stopping (a signal arrived), "
        "so the deploy stops waiting and deletes what it created"
    )
