"""`--sm-baseline-endpoint`: production's endpoint beside the candidate, the same rows through
both, and production's endpoint left exactly as it was."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/production"

# In the inner session's mocked account, before the baseline is resolved: production serves
# the constant model, created with plain boto3 as a deploy pipeline would have.
PRODUCTION_CONFTEST = """

@pytest.fixture(scope="session", autouse=True)
def production(sm_backend):
    session = sm_backend.boto_session
    session.client("s3").create_bucket(Bucket="prod-models")
    session.client("s3").upload_file({archive!r}, "prod-models", "constant/model.tar.gz")
    sm = session.client("sagemaker")
    sm.create_model(ModelName="production-model", ExecutionRoleArn={role!r},
                    PrimaryContainer={{"Image": {image!r}, "Environment": {env!r},
                                      "ModelDataUrl": "s3://prod-models/constant/model.tar.gz"}})
    sm.create_endpoint_config(EndpointConfigName="production-config", ProductionVariants=[{{
        "VariantName": "AllTraffic", "ModelName": "production-model",
        "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}])
    sm.create_endpoint(EndpointName="production", EndpointConfigName="production-config")
"""


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_baseline_and_candidate_predict_the_same_rows_and_baseline_is_untouched(
    pytester: pytest.Pytester,
    audit: Any,
    sklearn_model_dir: Path,
    constant_model_dir: Path,
    tmp_path: Path,
) -> None:
    archive = shutil.make_archive(str(tmp_path / "constant"), "gztar", constant_model_dir)
    pytester.makeconftest(
        pytester.path.joinpath("conftest.py").read_text()
        + PRODUCTION_CONFTEST.format(archive=archive, role=ROLE, image=IMAGE, env=SKLEARN_ENV)
    )
    pytester.makepyfile(
        """
        import pandas as pd

        def test_compare(sm_invoke, sm_baseline_invoke, sm_baseline_endpoint, sm_endpoint):
            holdout = pd.DataFrame(
                [[5.1, 3.5, 1.4, 0.2, 0], [6.7, 3.0, 5.2, 2.3, 2], [5.9, 3.0, 4.2, 1.5, 1]],
                columns=["a", "b", "c", "d", "label"], index=[10, 20, 30])
            candidate = sm_invoke(holdout)
            production = sm_baseline_invoke(holdout)
            assert list(candidate) == [0, 2, 1] and list(production) == [1, 1, 1]
            assert list(candidate.index) == list(production.index) == [10, 20, 30]
            assert (candidate == holdout["label"]).mean() > (production == holdout["label"]).mean()
            assert sm_baseline_endpoint.name == "production"
            assert sm_baseline_endpoint.owned is False
            assert sm_baseline_endpoint.model_names == ("production-model",)
            assert sm_baseline_invoke.settings == sm_invoke.settings
        """
    )
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-baseline-endpoint=production",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "production (moto, us-east-1): deployed in 0.00 s, teardown not owned",
            "*sm_invoke: 1 requests, 3 rows*",
        ]
    )
    left = audit()
    assert left.endpoints == ("production",)
    assert left.configs == ("production-config",)
    assert left.models == ("production-model",)


def test_missing_baseline_endpoint_fails_with_the_describe_error(
    pytester: pytest.Pytester, audit: Any
) -> None:
    pytester.makepyfile("def test_compare(sm_baseline_invoke): pass")
    result = pytester.runpytest("--sm-baseline-endpoint=production")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*AwsCallError: DescribeEndpoint failed for endpoint production: ValidationException*"]
    )
    assert audit().empty


def create_production(server: Any) -> None:
    sm = server.client("sagemaker")
    sm.create_model(
        ModelName="production-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://prod-models/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="production-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "production-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName="production", EndpointConfigName="production-config")


def described(server: Any) -> dict[str, Any]:
    sm = server.client("sagemaker")
    state = {
        "endpoint": sm.describe_endpoint(EndpointName="production"),
        "config": sm.describe_endpoint_config(EndpointConfigName="production-config"),
        "model": sm.describe_model(ModelName="production-model"),
    }
    state["tags"] = sm.list_tags(ResourceArn=state["endpoint"]["EndpointArn"])["Tags"]
    for value in state.values():
        if isinstance(value, dict):
            value.pop("ResponseMetadata", None)
    return state


def test_baseline_on_the_aws_path_is_attached_and_left_exactly_as_it_was(
    pytester: pytest.Pytester, moto_server: Any, sklearn_model_dir: Path
) -> None:
    create_production(moto_server)
    before = described(moto_server)
    pytester.makepyfile(
        """
        def test_attached(sm_baseline_endpoint, sm_baseline_invoke, sm_endpoint):
            assert sm_baseline_endpoint.owned is False
            assert sm_baseline_endpoint.backend == "aws"
            assert sm_baseline_endpoint.config_name == "production-config"
            assert sm_baseline_invoke.endpoint_name == "production"
            assert sm_endpoint.owned and sm_endpoint.name != "production"
        """
    )
    result = pytester.runpytest(
        "--sm-backend=aws",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        f"--sm-role={ROLE}",
        f"--sm-model-data={sklearn_model_dir}",
        "--sm-baseline-endpoint=production",
    )
    result.assert_outcomes(passed=1)
    assert described(moto_server) == before
    left = moto_server.inventory()
    assert (left.endpoints, left.configs, left.models) == (
        ("production",),
        ("production-config",),
        ("production-model",),
    )
