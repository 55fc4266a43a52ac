"""Credentials never reach the terminal, the JSON report or the logs, on either backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIASECRETMARKER0001",
    "AWS_SECRET_ACCESS_KEY": "secret-marker-do-not-print-0002",
    "AWS_SESSION_TOKEN": "session-token-marker-0003",
}


@pytest.mark.parametrize("backend", ["moto", "aws"])
def test_credentials_appear_in_no_output(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    sklearn_model_dir: Path,
    backend: str,
) -> None:
    if backend == "aws":
        request.getfixturevalue("moto_server")  # AWS_ENDPOINT_URL: loopback only
        source = "--sm-model-data=s3://bucket/model.tar.gz"
    else:
        source = f"--sm-model-data={sklearn_model_dir}"
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(
        """
        import logging
        def test_fails_loudly(sm_endpoint, sm_boto_session):
            logging.getLogger("user").info("endpoint %s", sm_endpoint)
            raise AssertionError(repr(sm_boto_session))
        """
    )
    result = pytester.runpytest(
        f"--sm-backend={backend}",
        source,
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-role=arn:aws:iam::123456789012:role/r",
        "--sm-report=report.json",
        "--log-file=run.log",
        "--log-file-level=DEBUG",
        "--log-level=DEBUG",
        "-rA",
        "--showlocals",
    )
    result.assert_outcomes(failed=1)
    outputs: dict[str, Any] = {
        "stdout": result.stdout.str(),
        "stderr": result.stderr.str(),
        "report": (pytester.path / "report.json").read_text(),
        "log file": (pytester.path / "run.log").read_text(),
    }
    assert "deletion_confirmed" in outputs["report"] and "botocore" in outputs["log file"]
    for where, text in outputs.items():
        for name, value in SECRETS.items():
            assert value not in text, f"{name} appears in the {where}"


# -- --sm-env values and the model's environment ------------------------------------------------

# Values that look like what people put in a container's environment; none may be printed.
ENV_SECRETS = {
    "OPENAI_API_KEY": "sk-live-4f9a8b7c6d5e3f2a1b0c",
    "DB_PASSWORD": "hunter2",
    "SIGNING_KEY": "c2lnbmluZy1rZXktbWFya2Vy",
}
ENV_ARGS = tuple(f"--sm-env={key}={value}" for key, value in ENV_SECRETS.items())
# A model environment from a ModelSpec returned by sm_model (not from --sm-env).
SPEC_SECRET = ("WEBHOOK_TOKEN", "whk-marker-5150")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEKEYMARKER777",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key-marker-778",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzFAKESESSIONTOKENMARKER779",
}
NEVER_PRINTED = {
    **{f"--sm-env {key}": value for key, value in ENV_SECRETS.items()},
    f"model environment {SPEC_SECRET[0]}": SPEC_SECRET[1],
    "access key id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
    "secret key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    "session token": FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
}
# sm_model returns a ModelSpec carrying its own environment, and a test fails showing it all.
SPEC_CONFTEST = f"""
import pytest
from pytest_smendpoint import ModelSpec

@pytest.fixture(scope="session")
def sm_model(sm_settings):
    return ModelSpec(
        image_uri="{IMAGE}",
        role_arn="arn:aws:iam::123456789012:role/r",
        model_data_url="s3://bucket/model.tar.gz",
        environment={{**sm_settings.env, {SPEC_SECRET[0]!r}: {SPEC_SECRET[1]!r}}},
    )
"""
# The endpoint never comes up: DescribeEndpoint says Failed (the deploy's traceback, with every
# frame's arguments, then reaches the terminal and the junitxml).
FAILING_DEPLOY_CONFTEST = """
from botocore.handlers import BUILTIN_HANDLERS

def _failed(parsed, **kwargs):
    if "EndpointStatus" in parsed:
        parsed["EndpointStatus"] = "Failed"
        parsed["FailureReason"] = "the container did not pass its /ping health check"

BUILTIN_HANDLERS.append(("after-call.sagemaker.DescribeEndpoint", _failed))
"""
TESTS = """
import logging
import pytest

@pytest.mark.parametrize("n", range(2))
def test_shows_everything(sm_endpoint, sm_model, sm_settings, n):
    logging.getLogger("user").debug("spec %r settings %r", sm_model, sm_settings)
    print(sm_model, sm_settings)
    assert sm_model is None  # the assertion message shows its repr
"""
OUTPUT_ARGS = (
    "--log-cli-level=DEBUG",
    "--log-file=run.log",
    "--log-file-level=DEBUG",
    "--junitxml=junit.xml",
    "--sm-report=report.json",
    "-rA",
    "--tb=long",
    "--showlocals",
)


def every_output(pytester: pytest.Pytester, result: pytest.RunResult) -> dict[str, str]:
    """The terminal (stdout and stderr) and every file a run can write."""
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for name in ("run.log", "junit.xml", "report.json"):
        path = pytester.path / name
        if path.exists():
            outputs[name] = path.read_text()
    return outputs


def assert_nothing_secret(outputs: dict[str, str]) -> None:
    found = {
        (what, where): text.count(value)
        for where, text in outputs.items()
        for what, value in NEVER_PRINTED.items()
        if value in text
    }
    assert found == {}


@pytest.fixture
def aws_with_fake_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The aws backend's code path against a moto server of its own on 127.0.0.1 (an
    in-process run at DEBUG can leave the shared one answering 500), with credentials that
    look real (moto accepts any)."""
    from moto.server import ThreadedMotoServer

    process = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    process.start()
    host, port = process.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    yield url
    process.stop()


def left_in(url: str) -> list[str]:
    """Every endpoint, endpoint config and model in the server's account."""
    import boto3

    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return (
        [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
        + [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]]
        + [m["ModelName"] for m in sagemaker.list_models()["Models"]]
    )


def run_secretive(
    pytester: pytest.Pytester, *, failing_deploy: bool, xdist: bool
) -> tuple[pytest.RunResult, dict[str, str]]:
    pytester.makeconftest(SPEC_CONFTEST + (FAILING_DEPLOY_CONFTEST if failing_deploy else ""))
    pytester.makepyfile(test_secretive=TESTS)
    args = ("--sm-backend=aws", *ENV_ARGS, *OUTPUT_ARGS, "-p", "no:cacheprovider")
    if xdist:
        result = pytester.runpytest_subprocess("-n", "2", *args)
    else:
        result = pytester.runpytest_subprocess(*args)
    return result, every_output(pytester, result)


@pytest.mark.parametrize("failing_deploy", [False, True], ids=["test-fails", "deploy-fails"])
def test_env_values_and_credentials_appear_in_no_output(
    pytester: pytest.Pytester, aws_with_fake_credentials: Any, failing_deploy: bool
) -> None:
    result, outputs = run_secretive(pytester, failing_deploy=failing_deploy, xdist=False)
    if failing_deploy:
        result.assert_outcomes(errors=2)
        assert (
            "ended Failed: the container did not pass its /ping health check" in outputs["stdout"]
        )
    else:
        result.assert_outcomes(failed=2)
    # What is shown instead: keys, with masked values, in the reprs pytest prints.
    assert (
        "OPENAI_API_KEY=***, DB_PASSWORD=***, SIGNING_KEY=***, WEBHOOK_TOKEN=***"
        in (outputs["stdout"])
    )
    assert "CreateModel" in outputs["run.log"] and "Authorization" in outputs["run.log"]
    assert set(outputs) == {"stdout", "stderr", "run.log", "junit.xml", "report.json"}
    assert_nothing_secret(outputs)
    assert left_in(aws_with_fake_credentials) == []


@pytest.mark.slow  # pytest -n 2 in a subprocess
@pytest.mark.parametrize("failing_deploy", [False, True], ids=["test-fails", "deploy-fails"])
def test_env_values_and_credentials_appear_in_no_output_under_xdist(
    pytester: pytest.Pytester, aws_with_fake_credentials: Any, failing_deploy: bool
) -> None:
    result, outputs = run_secretive(pytester, failing_deploy=failing_deploy, xdist=True)
    if failing_deploy:
        result.assert_outcomes(errors=2)
    else:
        result.assert_outcomes(failed=2)
        # The controller deleted the endpoint, with its own boto3 session, at DEBUG.
        assert "DeleteEndpoint" in outputs["stdout"]
    assert_nothing_secret(outputs)
    assert left_in(aws_with_fake_credentials) == []


@pytest.mark.parametrize("xdist", [False, True], ids=["single", "xdist"])
def test_a_bad_sm_env_entry_shows_no_value(
    pytester: pytest.Pytester, aws_with_fake_credentials: Any, xdist: bool
) -> None:
    pytester.makepyfile(test_secretive=TESTS)
    args = ("--sm-backend=aws", *ENV_ARGS, "--sm-env=BAD-NAME=hunter2", *OUTPUT_ARGS)
    result = pytester.runpytest_subprocess(*(("-n", "2") if xdist else ()), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --sm-env=OPENAI_API_KEY=[*][*][*], DB_PASSWORD=[*][*][*], "
            "SIGNING_KEY=[*][*][*], BAD-NAME=[*][*][*] (command line): entry 4: 'BAD-NAME' is "
            "not a valid variable name (letters, digits and _, not starting with a digit)"
        ]
    )
    assert_nothing_secret(every_output(pytester, result))


@pytest.mark.slow  # the moto backend serving a real model in a subprocess
def test_env_values_appear_in_no_output_on_the_moto_backend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, sklearn_model_dir: Path
) -> None:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_secretive=TESTS)
    result = pytester.runpytest_subprocess(
        f"--sm-model-data={sklearn_model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS,
        *ENV_ARGS, *OUTPUT_ARGS, "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(failed=2)
    outputs = every_output(pytester, result)
    assert "OPENAI_API_KEY=***, DB_PASSWORD=***, SIGNING_KEY=***" in outputs["stdout"]
    assert '"DB_PASSWORD": "***"' in outputs["run.log"]  # CreateModel's body, masked
    assert_nothing_secret(outputs)
