"""What the xdist controller and its workers share: the run's hand-over (RunShare), the files
they write (intent, record, failed; written atomically), the lock per configuration, the
deletion of what an intent names, and the stop-signal guard over a whole xdist session."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.aws.records import TeardownStatus
from pytest_smendpoint.endpoints.signal_hooks import PLUGIN_NAME
from pytest_smendpoint.settings.naming import SessionIdentity

if TYPE_CHECKING:
    from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord

WORKERINPUT_KEY = "smendpoint"
# Waiters give up this long after a deploy could have timed out on its own (--sm-deploy-timeout).
LOCK_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class RunShare:
    """What the controller hands every worker (through xdist's workerinput: plain values only)."""

    identity: dict[str, Any]
    directory: str
    server_url: str | None = None
    region: str | None = None

    def session_identity(self) -> SessionIdentity:
        return SessionIdentity(**self.identity)


class SessionGuard:
    """The stop-signal guard (signals.py) over the whole session of an xdist process.

    A single process installs it when `sm_backend` starts; under xdist the controller holds the
    run's endpoints without ever using that fixture, and a CI runner signals the whole process
    group, workers included, at any moment. A SIGTERM, SIGHUP or Ctrl-C then stops the session
    in order: a worker tears down what it holds (it deletes nothing: the controller does), the
    controller shuts the workers down (xdist's own shutdown) and then deletes the run's
    endpoints. One that arrives while xdist brings the workers up is held until they are up and
    raised when the test loop starts: pytest runs no pytest_sessionfinish (xdist's shutdown,
    the deletion) for a session whose start was interrupted.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._installed = contextlib.ExitStack()
        self._pending: BaseException | None = None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Any:
        from pytest_smendpoint.aws.signal_holding import hold_signals

        stop = self.config.pluginmanager.get_plugin(PLUGIN_NAME)
        if stop is not None:
            self._installed.enter_context(stop.guard.installed())
        try:
            with hold_signals():  # delivered to the guard when the block ends
                return (yield)
        except KeyboardInterrupt as stopped:  # SessionStopped is one, as is Ctrl-C
            self._pending = stopped
            return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        stopped, self._pending = self._pending, None
        if stopped is not None:
            raise stopped

    def pytest_unconfigure(self) -> None:
        self._installed.close()


def release(
    sagemaker: Any, region: str, backend_name: str, intent: dict[str, Any], *, checked: bool
) -> list[str]:
    """Delete what an intent names. `checked`: the deploy did not finish, so delete only what
    carries this run's session tag (a user-given name may belong to someone else)."""
    from pytest_smendpoint.aws.lifecycle import Lifecycle
    from pytest_smendpoint.aws.resources import (
        ENDPOINT,
        ENDPOINT_CONFIG,
        MODEL,
        carries_session_tag,
    )

    session_id = intent["session_id"]
    names = {
        "endpoint": intent["endpoint_name"],
        "config": intent["config_name"],
        "model": intent["model_name"],
    }
    if checked:
        kinds = {"endpoint": ENDPOINT, "config": ENDPOINT_CONFIG, "model": MODEL}
        names = {
            key: name
            for key, name in names.items()
            if carries_session_tag(sagemaker, kinds[key], name, session_id)
        }
    lifecycle = Lifecycle(sagemaker, region=region, backend=backend_name)
    return lifecycle.delete_for_session(
        names.get("endpoint"),
        names.get("config"),
        [names["model"]] if "model" in names else [],
        session_id,
    )


def spec_to_json(spec: Any) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies, and the environment is a (unpicklable) mappingproxy.
    data = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    return {**data, "environment": dict(spec.environment)}


def intent_of(plan: EndpointPlan, worker_id: str) -> dict[str, Any]:
    return {
        "endpoint_name": plan.endpoint_name,
        "config_name": plan.config_name,
        "model_name": plan.model_name,
        "session_id": plan.session_id,
        "worker": worker_id,
    }


def resources_of(record: EndpointRecord) -> list[tuple[Any, str]]:
    from pytest_smendpoint.aws.resources import ENDPOINT, ENDPOINT_CONFIG, MODEL

    return [
        (ENDPOINT, record.name),
        (ENDPOINT_CONFIG, record.config_name),
        *((MODEL, name) for name in record.model_names),
    ]


def record_to_json(record: EndpointRecord) -> dict[str, Any]:
    return dataclasses.asdict(record)


def record_from_json(text: str) -> EndpointRecord:
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.settings.endpoint_kinds import (
        AsyncSettings,
        EndpointKind,
        ServerlessSettings,
    )

    data = json.loads(text)
    data["model_names"] = tuple(data["model_names"])
    data["teardown"] = TeardownStatus(data["teardown"])
    data["kind"] = EndpointKind(data.get("kind", EndpointKind.REAL_TIME))
    if data.get("serverless") is not None:
        data["serverless"] = ServerlessSettings(**data["serverless"])
    if data.get("async_inference") is not None:
        data["async_inference"] = AsyncSettings(**data["async_inference"])
    return EndpointRecord(**data)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a reader never sees half a file (a worker may die while writing)."""
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data))
    os.replace(scratch, path)


@contextlib.contextmanager
def file_lock(path: Path, timeout: float | None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    from pytest_smendpoint.errors import SmEndpointError

    lock = FileLock(str(path), timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise SmEndpointError(
            f"waited {timeout:.0f} s for another pytest-xdist worker to deploy the run's "
            f"endpoint ({path.name}); it is still holding the lock"
        ) from None
    try:
        yield
    finally:
        lock.release()
