"""The model's workers are supervised as the container's gunicorn supervises them: a worker that
dies is replaced, the request it held gets a 500 saying how it died, later requests are served;
and the 60 s invocation bound counts from the request's arrival, queueing included."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from helpers.localsupport import (
    FEATURES,
    Deployed,
    csv_rows,
    loaded_variants,
    model_processes,
    with_model,
)
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving import forking, model_process

TWO_ROWS = csv_rows(FEATURES[:2])

# A predict_fn that does what the first value of the first row says.
DIRECTED = """
import os, signal, time

def predict_fn(data, model):
    order = float(data[0][0])
    if order == -1:
        os._exit(1)
    if order == -2:
        os.kill(os.getpid(), signal.SIGSEGV)
    if order == -3:
        open(os.path.join(os.environ["SM_MODEL_DIR"], "broken"), "w").close()
        os._exit(3)
    if order > 0:
        time.sleep(order)  # sleep-ok: a model that takes this long
    return model.predict(data)
"""
# model_fn fails once predict_fn has written the marker: a worker that cannot be restarted.
FRAGILE_MODEL_FN = """
def model_fn(model_dir):
    if os.path.exists(os.path.join(model_dir, "broken")):
        raise RuntimeError("the model file is corrupt now")
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


# One model process, where a test needs every call to reach the same one (unset, an ml.m5.large
# gets one per vCPU up to this machine's cores).
ONE_WORKER = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}


def ordered(order: float) -> bytes:
    return f"{order},0.0,0.0\n{order},0.0,0.0\n".encode()


def invoke(runtime: Any, name: str, body: bytes = TWO_ROWS) -> bytes:
    response = runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType="text/csv")
    answer: bytes = response["Body"].read()
    return answer


def model_error(runtime: Any, name: str, body: bytes) -> str:
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        invoke(runtime, name, body)
    assert raised.value.response["OriginalStatusCode"] == 500
    return str(raised.value.response.get("OriginalMessage"))


@pytest.mark.parametrize(
    ("order", "words"),
    [(-1, "the model process exited with code 1 during the call"),
     (-2, "the model process was killed by SIGSEGV during the call")],
    ids=["os._exit", "SIGSEGV"],
)  # fmt: skip
def test_a_dead_worker_is_replaced_and_says_how_it_died(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    order: float,
    words: str,
) -> None:
    endpoint = deploy(with_model(classifier, DIRECTED))
    assert model_error(runtime, endpoint.name, ordered(order)).startswith(words)
    served = [invoke(runtime, endpoint.name) for _ in range(8)]
    assert len(served) == 8  # the single worker was replaced: every later call answers


def test_with_two_workers_every_later_call_is_served(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier, DIRECTED), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
    model_error(runtime, endpoint.name, ordered(-2))
    assert len([invoke(runtime, endpoint.name) for _ in range(8)]) == 8
    loaded = loaded_variants(serving, endpoint.name)[0]
    assert len(model_processes(loaded).pids) == 2


def test_a_worker_cut_at_the_invocation_limit_is_replaced(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_process, "INVOKE_TIMEOUT", 1.0)
    endpoint = deploy(with_model(classifier, DIRECTED))
    assert "did not answer within 1 s" in model_error(runtime, endpoint.name, ordered(30))
    assert invoke(runtime, endpoint.name)


def test_a_worker_that_cannot_be_restarted_fails_later_calls_with_the_reason(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = FRAGILE_MODEL_FN + DIRECTED
    endpoint = deploy(with_model(classifier, script), env=ONE_WORKER)
    assert "exited with code 3" in model_error(runtime, endpoint.name, ordered(-3))
    deadline = time.monotonic() + 30
    while True:  # the replacement loads in the background; calls queue meanwhile
        message = model_error(runtime, endpoint.name, TWO_ROWS)
        if "the model server stopped" in message or time.monotonic() > deadline:
            break
    assert "model process 0 exited with code 3, and a new one could not load the model" in (message)
    assert "the model file is corrupt now" in message


def test_a_killed_zygote_leaves_workers_serving_and_replaceable(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier, DIRECTED), env=ONE_WORKER)
    loaded = loaded_variants(serving, endpoint.name)[0]
    [worker] = model_processes(loaded)._all
    assert isinstance(worker.process, forking.ForkedProcess)
    zygote = worker.process.zygote
    os.kill(zygote.process.pid, signal.SIGKILL)
    zygote.process.wait(5)
    time.sleep(1.0)  # sleep-ok: longer than the workers' watchdog period, not moto
    assert invoke(runtime, endpoint.name)  # the worker outlived its zygote
    assert "exited" in model_error(runtime, endpoint.name, ordered(-1))
    assert len([invoke(runtime, endpoint.name) for _ in range(4)]) == 4


def test_the_invocation_limit_counts_time_queued_for_a_worker(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_process, "INVOKE_TIMEOUT", 1.5)
    endpoint = deploy(with_model(classifier, DIRECTED), env=ONE_WORKER)
    first = threading.Thread(target=invoke, args=(runtime, endpoint.name, ordered(1.2)))
    first.start()
    time.sleep(0.1)  # sleep-ok: let the first request take the only worker, not moto
    started = time.monotonic()
    message = model_error(runtime, endpoint.name, ordered(0.6))  # 1.1 s queued + 0.6 s
    elapsed = time.monotonic() - started
    first.join()
    assert elapsed < 1.65  # cut 1.5 s after it arrived, not 1.5 s after a worker took it
    assert "did not answer within 1.5 s" in message
    assert "waiting for a free model process" in message


def test_requests_queued_past_the_limit_are_answered_at_the_limit(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_process, "INVOKE_TIMEOUT", 1.0)
    endpoint = deploy(with_model(classifier, DIRECTED))
    errors: list[str] = []

    def call() -> None:
        try:
            invoke(runtime, endpoint.name, ordered(0.8))
        except runtime.exceptions.ModelError as error:
            errors.append(str(error))

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One worker, 0.8 s each: without the bound counting queueing, 6 calls take 4.8 s.
    assert time.monotonic() - started < 3.0
    assert len(errors) >= 4
