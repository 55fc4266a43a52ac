"""The SDK's own serverless configuration, given with the SDK model `sm_model` returns: v2
`sagemaker.serverless.ServerlessInferenceConfig` and v3
`sagemaker.core.inference_config.ServerlessInferenceConfig`, passed as a factory (or marker)
key `serverless_inference_config=` where `Model.deploy` takes it, deploy the model serverless:
the endpoint config carries the SDK's own request dict, and the model predicts behind moto."""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV
from helpers.sdk3_support import IMAGE, ROLE, iris_archive

pytestmark = pytest.mark.slow  # SDK imports and a pytester session each

INNER_TEST = """
import boto3

ROWS = "5.1,3.5,1.4,0.2\\n6.7,3.0,5.2,2.3\\n"

def test_serverless_candidate(sm_endpoint, sm_endpoint_factory, sm_boto_session):
    from CONFIG_MODULE import ServerlessInferenceConfig

    given = ServerlessInferenceConfig(memory_size_in_mb=1024, max_concurrency=3)
    candidate = sm_endpoint_factory(serverless_inference_config=given)
    sm = sm_boto_session.client("sagemaker")
    variant = sm.describe_endpoint_config(
        EndpointConfigName=candidate.config_name)["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == given._to_request_dict()
    assert "InstanceType" not in variant
    runtime = sm_boto_session.client("sagemaker-runtime")
    for name in (sm_endpoint.name, candidate.name):
        answer = runtime.invoke_endpoint(
            EndpointName=name, Body=ROWS, ContentType="text/csv", Accept="text/csv")
        assert answer["Body"].read().split() == [b"0", b"2"]
"""


def test_sdk_v2_serverless_inference_config_with_an_sdk_v2_model(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    if not version("sagemaker").startswith("2."):  # not imported here: it looks for credentials
        pytest.skip("SageMaker SDK v2 only (tox env sdk2)")
    archive = shutil.make_archive(str(tmp_path / "model"), "gztar", sklearn_model_dir)
    pytester.makeconftest(
        pytester.path.joinpath("conftest.py").read_text()
        + f"""

@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    import sagemaker
    from sagemaker.model import Model

    s3 = sm_boto_session.client("s3")
    s3.create_bucket(Bucket="my-models")
    s3.upload_file({archive!r}, "my-models", "iris/model.tar.gz")
    return Model(
        image_uri={IMAGE!r},
        env={SKLEARN_ENV!r},
        model_data="s3://my-models/iris/model.tar.gz",
        role={ROLE!r},
        sagemaker_session=sagemaker.Session(boto_session=sm_boto_session),
    )
"""
    )
    pytester.makepyfile(INNER_TEST.replace("CONFIG_MODULE", "sagemaker.serverless"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*endpoint: serverless 1024 MB, max concurrency 3, no provisioned concurrency"]
    )
    assert audit().empty


@pytest.mark.usefixtures("sdk3")
def test_sdk_v3_serverless_inference_config_with_a_model_builder(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    archive = iris_archive(tmp_path / "data", sklearn_model_dir, with_code=True)
    pytester.makeconftest(
        pytester.path.joinpath("conftest.py").read_text()
        + f"""

@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.serve import ModelBuilder

    s3 = sm_boto_session.client("s3")
    s3.create_bucket(Bucket="user-models")
    s3.upload_file({str(archive)!r}, "user-models", "iris/model.tar.gz")
    return ModelBuilder(
        image_uri={IMAGE!r},
        s3_model_data_url="s3://user-models/iris/model.tar.gz",
        role_arn={ROLE!r},
        env_vars={SKLEARN_ENV!r},
        sagemaker_session=Session(boto_session=sm_boto_session),
    )
"""
    )
    pytester.makepyfile(INNER_TEST.replace("CONFIG_MODULE", "sagemaker.core.inference_config"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*endpoint: serverless 1024 MB, max concurrency 3, no provisioned concurrency"]
    )
    assert audit().empty
