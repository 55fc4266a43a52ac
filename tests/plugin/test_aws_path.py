"""The aws backend's code path, pointed at a moto server on 127.0.0.1 through AWS_ENDPOINT_URL:
what users run in CI against real SageMaker, with nothing but loopback traffic."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.aws_path import BUCKET, ROLE, MotoServer, aws_args, create_endpoint, snapshot


def test_local_folder_is_packed_uploaded_deployed_and_torn_down(
    pytester: pytest.Pytester, moto_server: MotoServer, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(
        """
        def test_deployed(sm_endpoint, sm_boto_session):
            sm = sm_boto_session.client("sagemaker")
            status = sm.describe_endpoint(EndpointName=sm_endpoint.name)["EndpointStatus"]
            assert status == "InService"
            model = sm.describe_model(ModelName=sm_endpoint.model_names[0])
            url = model["PrimaryContainer"]["ModelDataUrl"]
            assert url.startswith("s3://sagemaker-us-east-1-123456789012/pytest-smendpoint/")
            assert url.endswith("/model.tar.gz")
            bucket, key = url.removeprefix("s3://").split("/", 1)
            assert sm_boto_session.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"]
            assert sm_endpoint.backend == "aws" and sm_endpoint.owned
            tags = {t["Key"]: t["Value"] for t in sm.list_tags(
                ResourceArn=sm.describe_endpoint(EndpointName=sm_endpoint.name)["EndpointArn"])["Tags"]}
            assert tags["pytest-smendpoint:session"] in sm_endpoint.name
        """
    )
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    others = ["users/own/model.tar.gz", "pytest-smendpoint/another-session/model.tar.gz"]
    for key in others:  # not this session's: must survive its teardown
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    result = pytester.runpytest(*aws_args(f"--sm-model-data={sklearn_model_dir}"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*(aws, us-east-1): deployed in *teardown deleted"])
    assert moto_server.inventory().empty
    # Teardown deleted exactly what the session uploaded, and nothing else.
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == sorted(others)


def test_kept_endpoint_keeps_its_uploaded_model_data(
    pytester: pytest.Pytester, moto_server: MotoServer, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile("def test_deployed(sm_endpoint):\n    pass\n")
    result = pytester.runpytest(
        *aws_args(f"--sm-model-data={sklearn_model_dir}", "--sm-keep-endpoint")
    )
    result.assert_outcomes(passed=1)
    [kept] = moto_server.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert kept["Key"].startswith("pytest-smendpoint/") and kept["Key"].endswith("/model.tar.gz")


def test_failing_tests_still_tear_down(pytester: pytest.Pytester, moto_server: MotoServer) -> None:
    pytester.makepyfile(
        """
        def test_fails(sm_endpoint):
            raise AssertionError("model is wrong")
        """
    )
    result = pytester.runpytest(*aws_args("--sm-model-data=s3://bucket/model.tar.gz"))
    result.assert_outcomes(failed=1)
    assert moto_server.inventory().empty


def test_existing_endpoint_leaves_the_account_exactly_as_it_was(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    create_endpoint(moto_server, "production")
    before = snapshot(moto_server)
    pytester.makepyfile(
        """
        def test_attached(sm_endpoint):
            assert sm_endpoint.name == "production"
            assert sm_endpoint.owned is False
            assert sm_endpoint.model_names == ("production-model",)
        """
    )
    result = pytester.runpytest("--sm-backend=aws", "--sm-existing-endpoint=production")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["production (aws, us-east-1): deployed in 0.00 s, teardown not owned"]
    )
    assert snapshot(moto_server) == before


def test_keep_endpoint_keeps_everything_and_prints_the_delete_commands(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        *aws_args(
            "--sm-model-data=s3://bucket/model.tar.gz",
            "--sm-keep-endpoint",
            "--sm-endpoint-name=kept-ep",
            "--sm-model-name=kept-model",
        )
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "kept-ep (aws, us-east-1): deployed in *teardown kept",
            "  aws sagemaker delete-endpoint --endpoint-name kept-ep --region us-east-1",
            "  aws sagemaker delete-endpoint-config --endpoint-config-name kept-ep"
            " --region us-east-1",
            "  aws sagemaker delete-model --model-name kept-model --region us-east-1",
        ]
    )
    inventory = moto_server.inventory()
    assert (inventory.endpoints, inventory.configs, inventory.models) == (
        ("kept-ep",),
        ("kept-ep",),
        ("kept-model",),
    )


def test_training_job_artifacts_and_image_are_deployed(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    sm = moto_server.client("sagemaker")
    sm.create_training_job(
        TrainingJobName="iris-train",
        AlgorithmSpecification={"TrainingImage": "train-image:1", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"sagemaker_program": '"train.py"'},
        # moto leaves KmsKeyId out of OutputDataConfig unless given; SDK v2's attach reads it.
        OutputDataConfig={"S3OutputPath": "s3://out/jobs", "KmsKeyId": ""},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    artifacts = sm.describe_training_job(TrainingJobName="iris-train")["ModelArtifacts"][
        "S3ModelArtifacts"
    ]
    pytester.makepyfile(
        f"""
        def test_model(sm_endpoint, sm_boto_session):
            sm = sm_boto_session.client("sagemaker")
            model = sm.describe_model(ModelName=sm_endpoint.model_names[0])
            assert model["PrimaryContainer"]["Image"] == "train-image:1"
            assert model["PrimaryContainer"]["ModelDataUrl"] == {artifacts!r}
            assert model["PrimaryContainer"]["Environment"] == {{"SAGEMAKER_PROGRAM": "train.py"}}
            assert model["ExecutionRoleArn"] == {ROLE!r}
        """
    )
    result = pytester.runpytest("--sm-backend=aws", "--sm-training-job=iris-train")
    result.assert_outcomes(passed=1)
    assert moto_server.inventory().empty


def test_before_deploy_hook_can_change_the_plan(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    pytester.makeconftest(
        """
        import dataclasses

        def pytest_smendpoint_before_deploy(config, model, plan):
            return model, dataclasses.replace(plan, instance_type="ml.c5.xlarge", instance_count=2)

        def pytest_smendpoint_after_deploy(config, endpoint):
            print("after deploy:", endpoint.instance_type, endpoint.instance_count)
        """
    )
    pytester.makepyfile(
        """
        def test_plan(sm_endpoint, sm_boto_session):
            sm = sm_boto_session.client("sagemaker")
            variant = sm.describe_endpoint_config(
                EndpointConfigName=sm_endpoint.config_name)["ProductionVariants"][0]
            assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 2)
        """
    )
    result = pytester.runpytest(*aws_args("--sm-model-data=s3://bucket/model.tar.gz", "-s"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*after deploy: ml.c5.xlarge 2"])
    assert moto_server.inventory().empty


def test_variant_timeouts_reach_the_endpoint_config(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    pytester.makepyfile(
        """
        def test_variant(sm_endpoint, sm_boto_session):
            sm = sm_boto_session.client("sagemaker")
            variant = sm.describe_endpoint_config(
                EndpointConfigName=sm_endpoint.config_name)["ProductionVariants"][0]
            assert variant["InstanceType"] == "ml.m5.4xlarge"
            assert variant["InitialInstanceCount"] == 3
            assert variant["ModelDataDownloadTimeoutInSeconds"] == 900
            assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 600
            model = sm.describe_model(ModelName=sm_endpoint.model_names[0])
            assert model["PrimaryContainer"]["Environment"] == {"A": "1", "B": "x=y"}
        """
    )
    result = pytester.runpytest(
        *aws_args(
            "--sm-model-data=s3://bucket/model.tar.gz",
            "--sm-instance-type=ml.m5.4xlarge",
            "--sm-instance-count=3",
            "--sm-model-data-download-timeout=900",
            "--sm-container-startup-health-check-timeout=600",
            "--sm-env=A=1",
            "--sm-env=B=x=y",
        )
    )
    result.assert_outcomes(passed=1)


def test_a_missing_existing_endpoint_fails_with_sagemakers_reason(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest("--sm-backend=aws", "--sm-existing-endpoint=nope")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*AwsCallError: DescribeEndpoint failed for endpoint nope: "
            "ValidationException: Could not find endpoint*"
        ]
    )
    assert moto_server.inventory().empty


def test_generated_names_are_unique_and_readable(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    pytester.makepyfile(
        """
        import re
        def test_names(sm_endpoint):
            assert re.fullmatch(r"pytest-sm-\\d{8}-\\d{6}-[0-9a-f]{6}", sm_endpoint.name)
            assert sm_endpoint.model_names == (sm_endpoint.name + "-model",)
        """
    )
    result = pytester.runpytest(*aws_args("--sm-model-data=s3://bucket/model.tar.gz"))
    result.assert_outcomes(passed=1)
