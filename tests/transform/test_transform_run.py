"""The run against a model: requests in flight bounded by MaxConcurrentTransforms x instances and
the cores, answers assembled in input order whatever order they come back in, retries of 5xx."""

from __future__ import annotations

import threading
from typing import IO

import pytest

from pytest_smendpoint.serving.errors import InvocationError
from pytest_smendpoint.serving.invocation import (
    EXECUTION_PARAMETERS_PATH,
    InvokeRequest,
    InvokeResult,
)
from pytest_smendpoint.serving.transform.parameters import JobSettings
from pytest_smendpoint.serving.transform.run import (
    COMPLETED,
    FAILED,
    InputObject,
    TransformRun,
    concurrency,
)

OBJECT = InputObject(name="bucket/in/a.csv", key="in/a.csv")
LINES = [f"{n}\n".encode() for n in range(40)]


class EchoModel:
    """Answers each request with its body, reversed in time: later requests may finish first.
    Counts the requests in flight."""

    def __init__(self, fail_first: int = 0, status: int = 500) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.calls = 0
        self.fail_first = fail_first
        self.status = status
        self.release = threading.Event()

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        if request.path == EXECUTION_PARAMETERS_PATH:
            raise InvocationError(404, "not found")
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.calls += 1
            failing = self.calls <= self.fail_first
        self.release.wait(0.01 * (40 - int(request.body.split(b"\n")[0] or 0)) / 40)
        with self.lock:
            self.in_flight -= 1
        if failing:
            raise InvocationError(self.status, "broken")
        return InvokeResult(request.body.upper(), "text/csv")

    def close(self) -> None:
        pass


def run(model: EchoModel, settings: JobSettings, cores: int = 4) -> tuple[object, bytes]:
    stored: dict[str, bytes] = {}

    def store(item: InputObject, source: IO[bytes]) -> None:
        stored[item.key] = source.read()

    outcome = TransformRun(
        settings,
        model,
        [OBJECT],
        lambda item: iter(LINES),
        store,
        stop=threading.Event(),
        log=lambda line: None,
        cores=cores,
    ).run()
    return outcome, stored.get(OBJECT.key, b"")


def test_answers_are_assembled_in_input_order() -> None:
    model = EchoModel()
    settings = JobSettings(
        "job", max_concurrent_transforms=4, batch_strategy="SingleRecord", split_type="Line"
    )
    outcome, body = run(model, settings)
    assert body == b"".join(LINES)
    assert outcome.status == COMPLETED  # type: ignore[attr-defined]
    assert (outcome.records, outcome.requests) == (40, 40)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("requested", "instances", "cores", "most"), [(8, 2, 2, 2), (1, 3, 4, 3)])
def test_requests_in_flight_are_bounded(
    requested: int, instances: int, cores: int, most: int
) -> None:
    model = EchoModel()
    settings = JobSettings(
        "job",
        max_concurrent_transforms=requested,
        batch_strategy="SingleRecord",
        split_type="Line",
        instance_count=instances,
    )
    run(model, settings, cores=cores)
    assert concurrency(requested, instances, cores) == most
    assert model.most <= most


def test_a_5xx_is_retried_and_a_4xx_is_not() -> None:
    settings = JobSettings("job", batch_strategy="SingleRecord", split_type="Line", max_retries=2)
    outcome, body = run(EchoModel(fail_first=2), settings)
    assert outcome.status == COMPLETED  # type: ignore[attr-defined]
    assert body == b"".join(LINES)
    outcome, body = run(EchoModel(fail_first=1, status=400), settings)
    assert outcome.status == FAILED  # type: ignore[attr-defined]
    assert body == b""
