"""Credentials never reach the terminal, the JSON report or the logs, on either backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
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
