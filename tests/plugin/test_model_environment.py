"""The model sees its container's environment and only that: --sm-env and a factory's env=
reach it, the test process's own variables do not (issue 12, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.container_setup import MODEL_FN, SKLEARN_ENV_ARGS, SKLEARN_IMAGE
from helpers.models import build_sklearn_model

# predict_fn answers, per row, what the model's process sees in its environment.
ENVIRONMENT_SCRIPT = (
    MODEL_FN
    + """

def predict_fn(data, model):
    seen = [os.environ.get("PRED_MODE", "unset"), os.environ.get("ONLY_IN_PYTEST", "unset")]
    return [",".join(seen)] * len(data)


def output_fn(prediction, accept):
    return "\\n".join(prediction) + "\\n", "text/csv"
"""
)

TESTS = """
import boto3

BODY = "5.1,3.5,1.4,0.2\\n6.2,3.4,5.4,2.3\\n"


def seen_by(endpoint_name):
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint_name, ContentType="text/csv", Accept="text/csv", Body=BODY
    )
    return answer["Body"].read().decode().split()


def test_the_session_endpoint_sees_sm_env_only(sm_endpoint):
    assert seen_by(sm_endpoint.name) == ["short,unset", "short,unset"]


def test_factory_env_variants_serve_differently(sm_endpoint_factory):
    variants = [{"env": {"PRED_MODE": "s"}}, {"env": {"PRED_MODE": "l"}}]
    small, large = sm_endpoint_factory.many(variants)
    assert seen_by(small.name) == ["s,unset", "s,unset"]
    assert seen_by(large.name) == ["l,unset", "l,unset"]
"""


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_the_model_sees_its_container_environment_and_not_pytests(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = build_sklearn_model(tmp_path / "env-model", inference_script=ENVIRONMENT_SCRIPT)
    monkeypatch.setenv("ONLY_IN_PYTEST", "leaked")  # the test process has it; the model must not
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(
        f"--sm-model-data={model}",
        f"--sm-image-uri={SKLEARN_IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-env=PRED_MODE=short",
    )
    result.assert_outcomes(passed=2)
