"""SDK v3 objects returned from `sm_model`, as a user's conftest returns them: each is deployed
with the image, data, role and environment it names, and predicts for real behind moto."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
from helpers.sdk3_support import ENTRY_SCRIPT, IMAGE, ROLE, iris_archive, source_folder

pytestmark = [pytest.mark.usefixtures("sdk3"), pytest.mark.slow]

# The inner run's check: the model the session created, read back from the mocked account,
# against what the test's `expected(sm_model, ...)` says; then real predictions, through
# sm_predictor (an SDK v3 Endpoint: Endpoint.invoke).
INNER_TEST = """
import json

import joblib
from sklearn.datasets import load_iris

from expectations import expected


def test_deployed_as_the_object_says(sm_model, sm_endpoint, sm_predictor, sm_boto_session):
    sm = sm_boto_session.client("sagemaker")
    model = sm.describe_model(ModelName=sm_endpoint.model_names[0])
    container = model["PrimaryContainer"]
    deployed = {
        "image": container["Image"],
        "data": container.get("ModelDataUrl"),
        "role": model["ExecutionRoleArn"],
        "environment": container.get("Environment", {}),
    }
    assert deployed == expected(sm_model, sm_boto_session)


def test_predictions_are_the_models_own(sm_predictor):
    features, _ = load_iris(return_X_y=True)
    rows = features[[0, 60, 120, 149]]
    body = "\\n".join(",".join(repr(float(v)) for v in row) for row in rows)
    response = sm_predictor.invoke(body=body, content_type="text/csv", accept="application/json")
    predicted = json.loads(response.body.read().decode("utf-8"))
    assert predicted == joblib.load(MODEL_FILE).predict(rows).tolist()
    assert sorted(set(predicted)) == [0, 1, 2]
"""


def write_run(pytester: pytest.Pytester, sklearn_model_dir: Path, fixture: str, check: str) -> None:
    """The user's conftest (after the audit one) with its sm_model, the inner test, and its
    `expected` function in expectations.py."""
    conftest = pytester.path / "conftest.py"
    conftest.write_text(conftest.read_text() + "\n\n" + fixture)
    (pytester.path / "expectations.py").write_text(check)
    model_file = repr(str(sklearn_model_dir / "model.joblib"))
    pytester.makepyfile(INNER_TEST.replace("MODEL_FILE", model_file))


def test_model_builder_is_deployed_with_its_image_data_role_env_and_source(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    archive = iris_archive(tmp_path / "data", sklearn_model_dir, with_code=False)
    source = source_folder(tmp_path / "src")
    fixture = f"""
@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.training.configs import SourceCode
    from sagemaker.serve import ModelBuilder

    s3 = sm_boto_session.client("s3")
    s3.create_bucket(Bucket="user-models")
    s3.upload_file({str(archive)!r}, "user-models", "iris/model.tar.gz")
    return ModelBuilder(
        image_uri={IMAGE!r},
        s3_model_data_url="s3://user-models/iris/model.tar.gz",
        role_arn={ROLE!r},
        env_vars={{"MODEL_FLAVOUR": "iris"}},
        source_code=SourceCode(source_dir={str(source)!r}, entry_script="inference.py"),
        sagemaker_session=Session(boto_session=sm_boto_session),
    )
"""
    check = f"""
import fnmatch, io, tarfile


def expected(builder, boto_session):
    return {{
        "image": builder.image_uri,
        "data": builder.s3_model_data_url,
        "role": builder.role_arn,
        "environment": {{
            **builder.env_vars,
            "SAGEMAKER_PROGRAM": builder.source_code.entry_script,
            "SAGEMAKER_SUBMIT_DIRECTORY": uploaded_source(boto_session),
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": "us-east-1",
        }},
    }}


def uploaded_source(boto_session):
    # The one sourcedir.tar.gz in the default bucket: the source folder without __pycache__.
    s3 = boto_session.client("s3")
    bucket = "sagemaker-us-east-1-123456789012"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    [key] = [k for k in keys if k.endswith("/sourcedir.tar.gz")]
    assert fnmatch.fnmatch(key, "pytest-smendpoint/*/sourcedir.tar.gz")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["inference.py"]
        assert tar.extractfile("inference.py").read().decode() == {ENTRY_SCRIPT!r}
    return f"s3://{{bucket}}/{{key}}"
"""
    write_run(pytester, sklearn_model_dir, fixture, check)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*model: SDK v3 ModelBuilder*"])
    assert audit().empty


def test_training_job_resource_is_deployed_as_sm_training_job_deploys_it(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    archive = iris_archive(tmp_path / "data", sklearn_model_dir, with_code=False)
    code = tmp_path / "code.tar.gz"
    source = source_folder(tmp_path / "src")
    with tarfile.open(code, "w:gz") as tar:
        tar.add(source / "inference.py", arcname="inference.py")
    fixture = f"""
@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    from sagemaker.core.resources import TrainingJob

    # What an SDK v2-style framework job leaves: its entry point as hyperparameters, its
    # artifacts where OutputDataConfig said.
    s3 = sm_boto_session.client("s3")
    for bucket in ("user-code", "user-jobs"):
        s3.create_bucket(Bucket=bucket)
    s3.upload_file({str(code)!r}, "user-code", "iris/sourcedir.tar.gz")
    sm = sm_boto_session.client("sagemaker")
    sm.create_training_job(
        TrainingJobName="iris-train",
        AlgorithmSpecification={{"TrainingImage": {IMAGE!r}, "TrainingInputMode": "File"}},
        RoleArn={ROLE!r},
        HyperParameters={{
            "sagemaker_program": '"inference.py"',
            "sagemaker_submit_directory": '"s3://user-code/iris/sourcedir.tar.gz"',
        }},
        OutputDataConfig={{"S3OutputPath": "s3://user-jobs/out"}},
        ResourceConfig={{"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}},
        StoppingCondition={{"MaxRuntimeInSeconds": 600}},
    )
    s3.upload_file({str(archive)!r}, "user-jobs", "out/iris-train/output/model.tar.gz")
    return TrainingJob.get(training_job_name="iris-train", session=sm_boto_session,
                           region="us-east-1")
"""
    check = f"""
def expected(job, boto_session):
    assert job.model_artifacts.s3_model_artifacts == (
        "s3://user-jobs/out/iris-train/output/model.tar.gz")
    return {{
        "image": {IMAGE!r},
        "data": job.model_artifacts.s3_model_artifacts,
        "role": job.role_arn,
        "environment": {{
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "s3://user-code/iris/sourcedir.tar.gz",
        }},
    }}
"""
    write_run(pytester, sklearn_model_dir, fixture, check)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*model: training job iris-train*"])
    assert audit().empty


def test_model_trainer_after_train_is_deployed_through_its_training_job(
    pytester: pytest.Pytester,
    audit: Any,
    sklearn_model_dir: Path,
    tmp_path: Path,
    no_telemetry: None,
) -> None:
    # A v3 training job carries no entry point: the code travels in model.tar.gz, and the
    # environment says where, as SageMaker's repacked models do.
    archive = iris_archive(tmp_path / "data", sklearn_model_dir, with_code=True)
    train_source = tmp_path / "train-src"
    train_source.mkdir()
    (train_source / "train.py").write_text("print('training')\n")
    fixture = f"""
@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.training.configs import SourceCode
    from sagemaker.train import ModelTrainer

    trainer = ModelTrainer(
        training_image={IMAGE!r},
        source_code=SourceCode(source_dir={str(train_source)!r}, entry_script="train.py"),
        role={ROLE!r},
        base_job_name="iris",
        sagemaker_session=Session(boto_session=sm_boto_session),
    )
    trainer.train(wait=True, logs=False)
    # Under moto the job completes at once but writes nothing: put its model where it says.
    artifacts = trainer._latest_training_job.model_artifacts.s3_model_artifacts
    bucket, key = artifacts[len("s3://"):].split("/", 1)
    sm_boto_session.client("s3").upload_file({str(archive)!r}, bucket, key)
    return trainer
"""
    check = """
def expected(trainer, boto_session):
    job = trainer._latest_training_job
    return {
        "image": trainer.training_image,
        "data": job.model_artifacts.s3_model_artifacts,
        "role": trainer.role,
        "environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        },
    }
"""
    write_run(pytester, sklearn_model_dir, fixture, check)
    result = pytester.runpytest(
        "--sm-env=SAGEMAKER_PROGRAM=inference.py",
        "--sm-env=SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*model: ModelTrainer training job iris-*"])
    assert audit().empty


def test_model_resource_is_deployed_from_its_primary_container_and_never_deleted(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    archive = iris_archive(tmp_path / "data", sklearn_model_dir, with_code=True)
    fixture = f"""
@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    from sagemaker.core.resources import Model
    from sagemaker.core.shapes import ContainerDefinition

    s3 = sm_boto_session.client("s3")
    s3.create_bucket(Bucket="user-models")
    s3.upload_file({str(archive)!r}, "user-models", "iris/model.tar.gz")
    return Model.create(
        model_name="users-iris",
        primary_container=ContainerDefinition(
            image={IMAGE!r},
            model_data_url="s3://user-models/iris/model.tar.gz",
            environment={{
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            }},
        ),
        execution_role_arn={ROLE!r},
        session=sm_boto_session,
        region="us-east-1",
    )
"""
    check = """
def expected(model, boto_session):
    container = model.primary_container
    return {
        "image": container.image,
        "data": container.model_data_url,
        "role": model.execution_role_arn,
        "environment": container.environment,
    }
"""
    write_run(pytester, sklearn_model_dir, fixture, check)
    (pytester.path / "test_copy.py").write_text(
        "def test_the_session_deploys_its_own_model(sm_endpoint):\n"
        "    assert sm_endpoint.model_names != ('users-iris',)\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*teardown deleted", "*model: SDK v3 Model users-iris;*"])
    # The audit runs after the plugin's teardown: the user's model is all that is left.
    left = audit()
    assert (left.endpoints, left.configs, left.models) == ((), (), ("users-iris",))


def test_model_builder_without_an_image_stops_the_run_naming_the_option(
    pytester: pytest.Pytester, audit: Any
) -> None:
    conftest = pytester.path / "conftest.py"
    conftest.write_text(
        conftest.read_text()
        + f"""

@pytest.fixture(scope="session")
def sm_model(sm_boto_session):
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.serve import ModelBuilder
    from sklearn.linear_model import LogisticRegression

    return ModelBuilder(
        model=LogisticRegression(),
        role_arn={ROLE!r},
        sagemaker_session=Session(boto_session=sm_boto_session),
    )
"""
    )
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "E *.ModelResolutionError: ModelBuilder has no image_uri: set image_uri=... or "
            "pass --sm-image-uri"
        ]
    )
    assert audit().empty


def test_factory_model_takes_a_v3_model_resource_and_leaves_it(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, tmp_path: Path
) -> None:
    archive = iris_archive(tmp_path / "data", sklearn_model_dir, with_code=True)
    pytester.makepyfile(
        f"""
        import json

        import boto3


        def test_factory(sm_endpoint_factory, sm_boto_session):
            from sagemaker.core.resources import Model
            from sagemaker.core.shapes import ContainerDefinition

            s3 = sm_boto_session.client("s3")
            s3.create_bucket(Bucket="user-models")
            s3.upload_file({str(archive)!r}, "user-models", "iris/model.tar.gz")
            container = ContainerDefinition(
                image={IMAGE!r},
                model_data_url="s3://user-models/iris/model.tar.gz",
                environment={{
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                }},
            )
            users = Model.create(model_name="users-iris", primary_container=container,
                                 execution_role_arn={ROLE!r}, session=sm_boto_session,
                                 region="us-east-1")
            record = sm_endpoint_factory(model=users)
            deployed = boto3.client("sagemaker").describe_model(ModelName=record.model_names[0])
            assert deployed["PrimaryContainer"]["Environment"] == container.environment
            assert deployed["ExecutionRoleArn"] == {ROLE!r}
            answer = boto3.client("sagemaker-runtime").invoke_endpoint(
                EndpointName=record.name, ContentType="text/csv", Accept="application/json",
                Body="5.1,3.5,1.4,0.2\\n6.7,3.0,5.2,2.3")["Body"].read()
            assert json.loads(answer) == [0, 2]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    left = audit()
    assert (left.endpoints, left.configs, left.models) == ((), (), ("users-iris",))
