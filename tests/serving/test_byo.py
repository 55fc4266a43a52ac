"""Bring-your-own serving: examples/byo/serve.py (and some broken commands) run as subprocesses
answering /ping and /invocations on 127.0.0.1."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from helpers.localsupport import (
    BYO_IMAGE,
    FEATURES,
    Deployed,
    byo_process,
    csv_predictions,
    csv_rows,
    loaded_variants,
)
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "byo" / "serve.py"
PYTHON = shlex.quote(sys.executable)
SERVE = f"{PYTHON} {shlex.quote(str(EXAMPLE))} --port {{port}} --model-dir {{model_dir}}"
# A bring-your-own image: its serving program is the serve command.
BYO = {"image": BYO_IMAGE, "base_env": {}}


@pytest.fixture
def byo(make_serving: Callable[..., LocalServing]) -> LocalServing:
    return make_serving(serve_command=SERVE, startup_timeout=30)


def test_byo_server_gives_the_models_real_predictions(
    byo: LocalServing,
    runtime_after: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy({"model.joblib": classifier}, env={"SOME_SETTING": "1"}, **BYO)
    byo.endpoint_created(endpoint.name)
    response = runtime_after.invoke_endpoint(
        EndpointName=endpoint.name, Body=csv_rows(FEATURES), ContentType="text/csv"
    )
    assert csv_predictions(response["Body"].read()) == classifier.predict(FEATURES).tolist()
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"


def test_byo_custom_attributes_are_forwarded_both_ways(
    byo: LocalServing,
    runtime_after: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy({"model.joblib": classifier}, **BYO)
    byo.endpoint_created(endpoint.name)
    response = runtime_after.invoke_endpoint(
        EndpointName=endpoint.name, Body=b"1,2,3", ContentType="text/csv", CustomAttributes="id=7"
    )
    assert response["CustomAttributes"] == "echo=id=7"


def test_byo_error_status_is_a_model_error_with_that_status(
    byo: LocalServing,
    runtime_after: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy({"model.joblib": classifier}, **BYO)
    byo.endpoint_created(endpoint.name)
    for attributes, content_type, status, message in [
        ("fail", "text/csv", 500, "asked to fail"),
        (None, "application/json", 415, "this server reads text/csv only"),
    ]:
        kwargs = {"CustomAttributes": attributes} if attributes else {}
        with pytest.raises(ClientError) as raised:
            runtime_after.invoke_endpoint(
                EndpointName=endpoint.name, Body=b"1,2,3", ContentType=content_type, **kwargs
            )
        error = raised.value.response
        assert error["Error"]["Code"] == "ModelError"
        assert error["OriginalStatusCode"] == status
        assert error["OriginalMessage"] == message


def test_byo_env_port_and_model_dir_reach_the_process(
    make_serving: Callable[..., LocalServing],
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    tmp_path: Path,
) -> None:
    out = tmp_path / "seen.txt"
    script = tmp_path / "show.py"
    script.write_text(
        "import os, sys\n"
        "env = os.environ\n"
        f"open({str(out)!r}, 'w').write(' '.join([sys.argv[1], env['SAGEMAKER_BIND_TO_PORT'],"
        " sys.argv[2], env['SM_MODEL_DIR'], env['MY_SETTING']]))\n"
    )
    serving = make_serving(
        serve_command=f"{PYTHON} {script} {{port}} {{model_dir}}", startup_timeout=10
    )
    endpoint = deploy({"model.joblib": b"x"}, env={"MY_SETTING": "blue"}, **BYO)
    serving.endpoint_created(endpoint.name)  # exits at once: Failed, but it ran
    port, env_port, model_dir, env_dir, setting = out.read_text().split()
    assert port == env_port and int(port) > 0
    assert model_dir == env_dir and model_dir.endswith("/model")
    assert setting == "blue"


def test_command_that_exits_at_once_fails_quickly_with_its_output(
    make_serving: Callable[..., LocalServing], deploy: Callable[..., Deployed], sagemaker: Any
) -> None:
    make_serving(
        serve_command=f"{PYTHON} -c \"print('cannot find weights'); raise SystemExit(3)\"",
        startup_timeout=60,
    )
    started = time.monotonic()
    endpoint = deploy({"model.joblib": b"x"}, **BYO)  # CreateEndpoint loads the model
    assert time.monotonic() - started < 10  # not the 60 s startup timeout
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "exited with code 3 before answering /ping" in described["FailureReason"]
    assert "cannot find weights" in described["FailureReason"]


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_command_that_never_answers_ping_fails_after_startup_timeout(
    make_serving: Callable[..., LocalServing], deploy: Callable[..., Deployed], sagemaker: Any
) -> None:
    never = (
        f"{PYTHON} -c \"import time; print('warming up', flush=True); "
        'time.sleep(60)"'  # sleep-ok: a BYO server that never answers /ping
    )
    serving = make_serving(serve_command=never, startup_timeout=1)  # sleep-ok: in the child
    started = time.monotonic()
    endpoint = deploy({"model.joblib": b"x"}, **BYO)  # CreateEndpoint loads, so it waits for /ping
    assert 1 <= time.monotonic() - started < 8
    serving.endpoint_created(endpoint.name)  # already Failed: returns at once
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "did not answer GET /ping with 200 within 1 s" in described["FailureReason"]
    assert "warming up" in described["FailureReason"]


def test_byo_process_is_stopped_and_its_directory_removed_at_unload(
    byo: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    endpoint = deploy({"model.joblib": classifier}, **BYO)
    byo.endpoint_created(endpoint.name)
    loaded = loaded_variants(byo, endpoint.name)[0]
    process = byo_process(loaded)
    assert process.poll() is None
    byo.endpoint_deleted(endpoint.name)
    assert process.poll() is not None
    assert not loaded.workdir.exists()


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_close_stops_every_byo_process(
    make_serving: Callable[..., LocalServing],
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    serving = make_serving(serve_command=SERVE, startup_timeout=30)
    processes = []
    for _ in range(2):
        endpoint = deploy({"model.joblib": classifier}, **BYO)
        serving.endpoint_created(endpoint.name)
        processes.append(byo_process(loaded_variants(serving, endpoint.name)[0]))
    serving.close()
    assert all(p.poll() is not None for p in processes)
