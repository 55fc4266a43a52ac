"""The embedded default: a moto-mocked account in the test process, the model served for real,
and nothing left in the account when the session ends."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"


def test_deploys_predicts_for_real_and_leaves_nothing(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(
        f"""
        import boto3, joblib
        from sklearn.datasets import load_iris

        def test_predictions(sm_endpoint):
            features, _ = load_iris(return_X_y=True)
            model = joblib.load({str(sklearn_model_dir / "model.joblib")!r})
            expected = model.predict(features[:3])
            body = "\\n".join(",".join(repr(float(v)) for v in row) for row in features[:3])
            runtime = boto3.client("sagemaker-runtime")
            answer = runtime.invoke_endpoint(EndpointName=sm_endpoint.name, ContentType="text/csv",
                                             Accept="text/csv", Body=body)["Body"].read()
            assert [float(x) for x in answer.decode().split()] == [float(x) for x in expected]

        def test_users_own_clients_talk_to_the_mock(sm_endpoint):
            listed = boto3.client("sagemaker").list_endpoints()["Endpoints"]
            names = [e["EndpointName"] for e in listed]
            assert names == [sm_endpoint.name]
            assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
        """
    )
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*(moto, us-east-1): deployed in *teardown deleted"])
    assert audit().empty


def test_model_that_fails_to_load_fails_the_deploy_and_leaves_nothing(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    model = tmp_path / "broken"
    (model / "code").mkdir(parents=True)
    (model / "code" / "inference.py").write_text(
        "def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n"
    )
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        f"--sm-model-data={model}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*DeployError: endpoint 'pytest-sm-*' ended Failed: *weights are corrupt*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*Cleaned up: endpoint pytest-sm-*, endpoint config pytest-sm-*, model pytest-sm-*-model*"]
    )
    assert audit().empty


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_users_own_sdk_v2_model_is_deployed_and_torn_down(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("sagemaker.model", reason="SageMaker SDK v2 only (tox env sdk2)")
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
        role="arn:aws:iam::123456789012:role/my-role",
        sagemaker_session=sagemaker.Session(boto_session=sm_boto_session),
    )
"""
    )
    pytester.makepyfile(
        """
        import json

        def test_predict(sm_predictor, sm_endpoint, sm_boto_session):
            answer = sm_predictor.predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
            # The SDK's default deserializer asks for */*, which the container answers in JSON.
            assert json.loads(answer.decode("utf-8")) == [0, 2]
            model = sm_boto_session.client("sagemaker").describe_model(
                ModelName=sm_endpoint.model_names[0])
            assert model["ExecutionRoleArn"] == "arn:aws:iam::123456789012:role/my-role"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert audit().empty


def test_environment_is_isolated_during_the_session_and_restored(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, sklearn_model_dir: Path
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    before = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    pytester.makepyfile(
        """
        import os
        def test_isolated(sm_boto_session):
            assert "AWS_PROFILE" not in os.environ
            assert "AWS_ENDPOINT_URL" not in os.environ
            assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
            assert sm_boto_session.region_name == "eu-west-1"
        """
    )
    result = pytester.runpytest("--sm-region=eu-west-1")
    result.assert_outcomes(passed=1)
    assert {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} == before


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_byo_server_that_dies_at_start_fails_the_deploy_with_its_output(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    # (A /ping that never answers is tested in tests/local with a 1 s bound; through the plugin
    # the bound is SageMaker's ContainerStartupHealthCheckTimeoutInSeconds, 60 s at least.)
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-serve-command={python} -c 'import sys; print(\"port in use\"); sys.exit(3)'",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*DeployError: endpoint 'pytest-sm-*' ended Failed: Local serving could not load the "
            "model of production variant AllTraffic: serve command exited with code 3 "
            "before answering /ping*",
        ]
    )
    result.stdout.fnmatch_lines(["*port in use*"])
    assert audit().empty


def test_byo_serve_command_runs_from_the_ini_folder(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    serve = Path(__file__).parents[2] / "examples" / "byo" / "serve.py"
    (pytester.path / "server").mkdir()
    (pytester.path / "server" / "serve.py").write_text(serve.read_text())
    pytester.makeini(
        f"""
        [pytest]
        sm_model_data = {sklearn_model_dir}
        sm_image_uri = my-byo:1
        sm_serve_command = {{python}} server/serve.py --port {{port}} --model-dir {{model_dir}}
        """
    )
    pytester.makepyfile(
        """
        import boto3
        def test_served(sm_endpoint):
            answer = boto3.client("sagemaker-runtime").invoke_endpoint(
                EndpointName=sm_endpoint.name, ContentType="text/csv",
                Body="5.1,3.5,1.4,0.2\\n6.7,3.0,5.2,2.3")["Body"].read()
            assert answer.decode().split() == ["0", "2"]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert audit().empty
