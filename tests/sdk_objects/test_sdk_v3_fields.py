"""What each SDK v3 object's fields become in the ModelSpec; an object that lacks what a deploy
needs stops with an error naming the missing field and the option that supplies it."""

from __future__ import annotations

import io
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.sdk3_support import IMAGE, ROLE

from pytest_smendpoint.aws.resolve import AwsContext, ModelSpec
from pytest_smendpoint.aws.sdk_objects import from_user_object
from pytest_smendpoint.errors import AwsCallError, ModelResolutionError
from pytest_smendpoint.settings.options import Settings

pytestmark = pytest.mark.usefixtures("sdk3")

DATA = "s3://user-models/iris/model.tar.gz"


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsContext]:
    """A mocked account, as the moto backend gives resolution one."""
    import boto3
    from moto import mock_aws

    from pytest_smendpoint.aws.backends.moto.compat import sdk_v3_compatibility

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), sdk_v3_compatibility():
        session = boto3.Session(region_name="us-east-1")
        yield AwsContext(
            session=session,
            region="us-east-1",
            sagemaker=session.client("sagemaker"),
            backend="moto",
            key_prefix="pytest-smendpoint/test",
        )
    # SDK v3 caches its clients process-wide: none may outlive this mock.
    utils = sys.modules.get("sagemaker.core.utils.utils")
    cache = getattr(utils, "SageMakerClient", None)
    if cache is not None and hasattr(cache, "reset"):
        cache.reset()


def builder(account: AwsContext, **fields: Any) -> Any:
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.serve import ModelBuilder

    fields.setdefault("role_arn", ROLE)
    return ModelBuilder(sagemaker_session=Session(boto_session=account.session), **fields)


def source_code(**fields: Any) -> Any:
    from sagemaker.core.training.configs import SourceCode

    return SourceCode(**fields)


def resolve(obj: Any, account: AwsContext, **settings: Any) -> Any:
    return from_user_object(obj, Settings(**settings), account)


def message_of(obj: Any, account: AwsContext, **settings: Any) -> str:
    with pytest.raises(ModelResolutionError) as raised:
        resolve(obj, account, **settings)
    return str(raised.value)


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_model_builder_with_only_a_local_model_object_needs_an_image(account: AwsContext) -> None:
    from sklearn.linear_model import LogisticRegression

    local_only = builder(account, model=LogisticRegression())
    assert message_of(local_only, account) == (
        "ModelBuilder has no image_uri: set image_uri=... or pass --sm-image-uri"
    )
    # With the image from the option, the next thing missing is the model data.
    assert message_of(local_only, account, image_uri=IMAGE) == (
        "ModelBuilder has no s3_model_data_url: its model (LogisticRegression) becomes model "
        "data only in build(), which pytest-smendpoint does not call; set s3_model_data_url=... "
        "(or model_path= a local model folder) or pass --sm-model-data"
    )


def test_model_builder_with_a_jumpstart_id_needs_model_data(account: AwsContext) -> None:
    jumpstart = builder(
        account, model="sklearn-classification-linear", image_uri=IMAGE, instance_type="ml.m5.large"
    )
    assert message_of(jumpstart, account) == (
        "ModelBuilder has no s3_model_data_url: its model ('sklearn-classification-linear') "
        "becomes model data only in build(), which pytest-smendpoint does not call; set "
        "s3_model_data_url=... (or model_path= a local model folder) or pass --sm-model-data"
    )


def test_model_builder_without_a_role_on_aws_names_the_option(account: AwsContext) -> None:
    roleless = builder(account, image_uri=IMAGE, s3_model_data_url=DATA)
    roleless.role_arn = None  # the SDK resolves a role at construction; it may find none
    on_aws = AwsContext(account.session, account.region, account.sagemaker, "aws", "p")
    with pytest.raises(ModelResolutionError) as raised:
        from_user_object(roleless, Settings(), on_aws)
    assert str(raised.value) == "ModelBuilder has no role_arn: set role_arn=... or pass --sm-role"
    # The option supplies it.
    role = "arn:aws:iam::123456789012:role/from-option"
    spec = from_user_object(roleless, Settings(role=role), on_aws)
    assert isinstance(spec, ModelSpec) and spec.role_arn == role


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"source_dir": "SRC"},
            "ModelBuilder's source_code has no entry_script: set SourceCode(entry_script=...), "
            "the script the container runs",
        ),
        (
            {"entry_script": "inference.py"},
            "ModelBuilder's source_code has no source_dir: set SourceCode(source_dir=...), the "
            "folder that holds inference.py",
        ),
        (
            {"source_dir": "SRC", "entry_script": "serve.py"},
            "ModelBuilder's source_code: entry_script serve.py is not in source_dir SRC",
        ),
        (
            {"source_dir": "SRC/missing", "entry_script": "inference.py"},
            "ModelBuilder's source_code: source_dir SRC/missing is not a folder, a .tar.gz or an "
            "s3:// URI",
        ),
    ],
    ids=["no-entry-script", "no-source-dir", "entry-script-not-in-dir", "no-such-dir"],
)
def test_model_builder_source_code_without_what_the_container_runs(
    account: AwsContext, tmp_path: Path, fields: dict[str, str], expected: str
) -> None:
    (tmp_path / "inference.py").write_text("def model_fn(model_dir): ...\n")
    fields = {k: v.replace("SRC", str(tmp_path)) for k, v in fields.items()}
    incomplete = builder(
        account, image_uri=IMAGE, s3_model_data_url=DATA, source_code=source_code(**fields)
    )
    assert message_of(incomplete, account) == expected.replace("SRC", str(tmp_path))


def test_model_builder_model_data_must_be_an_s3_archive(account: AwsContext) -> None:
    local = builder(account, image_uri=IMAGE, s3_model_data_url="model.tar.gz")
    assert message_of(local, account) == (
        "ModelBuilder's s3_model_data_url='model.tar.gz' is not an s3:// URI: give the S3 URI of "
        "a model.tar.gz, or a local model folder as model_path="
    )
    uncompressed = builder(
        account,
        image_uri=IMAGE,
        s3_model_data_url={
            "S3DataSource": {
                "S3Uri": "s3://user-models/iris/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
    )
    assert message_of(uncompressed, account) == (
        "ModelBuilder's s3_model_data_url serves uncompressed model data "
        "(s3://user-models/iris/, CompressionType None); pytest-smendpoint deploys a "
        "model.tar.gz: give one as the model data"
    )


def test_model_builder_fields_come_through_and_options_fill_the_gaps(
    account: AwsContext, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    complete = builder(
        account, image_uri=IMAGE, s3_model_data_url=DATA, env_vars={"A": "1", "B": "2"}
    )
    assert resolve(complete, account, env={"B": "option"}) == ModelSpec(
        image_uri=IMAGE,
        role_arn=ROLE,
        model_data_url=DATA,
        environment={"A": "1", "B": "option"},  # --sm-env wins, as for every model source
        source="SDK v3 ModelBuilder",
    )
    # A local model= object with its data from the options: image and data both supplied.
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(b"weights")
    filled = resolve(
        builder(account, model=LogisticRegression()),
        account,
        image_uri=IMAGE,
        model_data=str(folder),
    )
    assert (filled.image_uri, filled.model_data_url) == (
        IMAGE,
        "s3://sagemaker-us-east-1-123456789012/pytest-smendpoint/test/model.tar.gz",
    )


def test_model_trainer_that_was_not_trained_has_no_job_to_deploy(
    account: AwsContext, no_telemetry: None
) -> None:
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.train import ModelTrainer

    untrained = ModelTrainer(
        training_image=IMAGE, role=ROLE, sagemaker_session=Session(boto_session=account.session)
    )
    assert message_of(untrained, account) == (
        "ModelTrainer has no training job: call train() before returning it from sm_model, or "
        "pass --sm-training-job"
    )


def create_model(account: AwsContext, name: str, **containers: Any) -> Any:
    from sagemaker.core.resources import Model

    return Model.create(
        model_name=name,
        execution_role_arn=ROLE,
        session=account.session,
        region=account.region,
        **containers,
    )


def test_model_resource_pipeline_is_refused(account: AwsContext) -> None:
    from sagemaker.core.shapes import ContainerDefinition

    pipeline = create_model(
        account,
        "users-pipeline",
        containers=[ContainerDefinition(image=IMAGE), ContainerDefinition(image="post:1")],
    )
    assert message_of(pipeline, account) == (
        "model 'users-pipeline' has no primary_container but 2 containers (an inference "
        "pipeline): pytest-smendpoint deploys one container; return a "
        "pytest_smendpoint.ModelSpec for the one to test"
    )


def test_model_resource_is_copied_never_named_over(account: AwsContext) -> None:
    from sagemaker.core.shapes import ContainerDefinition

    users = create_model(account, "users-iris", primary_container=ContainerDefinition(image=IMAGE))
    # The session's model is a copy with a name of its own, never the user's model's name.
    assert resolve(users, account).name is None
    assert message_of(users, account, model_name="users-iris") == (
        "--sm-model-name=users-iris is the name of the existing model sm_model returned; the "
        "session creates its own model from it and deletes that at the end, so give it another "
        "name or leave --sm-model-name unset"
    )
    account.sagemaker.delete_model(ModelName="users-iris")
    with pytest.raises(AwsCallError, match="^DescribeModel failed for model users-iris: "):
        resolve(users, account)


def test_unknown_objects_are_told_every_accepted_type(account: AwsContext) -> None:
    assert message_of(object(), account) == (
        "sm_model returned object; return a pytest_smendpoint.ModelSpec, an ExistingEndpoint, a "
        "SageMaker SDK v2 Model or Estimator, or an SDK v3 sagemaker.core.resources.TrainingJob, "
        "sagemaker.core.resources.Model, sagemaker.serve.ModelBuilder or trained "
        "sagemaker.train.ModelTrainer"
    )


def test_model_builder_reads_model_data_where_its_pass_through_build_does(
    account: AwsContext, tmp_path: Path
) -> None:
    from sagemaker.core.resources import TrainingJob

    # An s3:// model_path comes first, as in build(); then s3_model_data_url.
    both = builder(account, image_uri=IMAGE, model_path=DATA, s3_model_data_url="s3://other/m")
    assert resolve(both, account).model_data_url == DATA
    # model= a training job: its artifacts.
    account.sagemaker.create_training_job(
        TrainingJobName="iris-train",
        AlgorithmSpecification={"TrainingImage": "train:1", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://user-jobs/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    job = TrainingJob.get(
        training_job_name="iris-train", session=account.session, region=account.region
    )
    from_job = resolve(builder(account, image_uri=IMAGE, model=job), account)
    assert (from_job.image_uri, from_job.model_data_url) == (
        IMAGE,
        "s3://user-jobs/out/iris-train/output/model.tar.gz",
    )
    # model_path= a local folder the user filled: packed and uploaded.
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(b"weights")
    local = resolve(builder(account, image_uri=IMAGE, model_path=str(folder)), account)
    assert local.model_data_url == (
        "s3://sagemaker-us-east-1-123456789012/pytest-smendpoint/test/model.tar.gz"
    )
    # No data at all and no model to build: an image that carries its own model.
    assert resolve(builder(account, image_uri=IMAGE), account).model_data_url is None


def test_model_builder_source_from_s3_or_a_local_archive(
    account: AwsContext, tmp_path: Path
) -> None:
    from_s3 = builder(
        account,
        image_uri=IMAGE,
        s3_model_data_url=DATA,
        source_code=source_code(source_dir="s3://user-code/src.tar.gz", entry_script="serve.py"),
    )
    assert dict(resolve(from_s3, account).environment) == {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "s3://user-code/src.tar.gz",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
    }
    archive = tmp_path / "src.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        script = tmp_path / "serve.py"
        script.write_text("def model_fn(model_dir): ...\n")
        tar.add(script, arcname="serve.py")
    from_archive = builder(
        account,
        image_uri=IMAGE,
        s3_model_data_url=DATA,
        source_code=source_code(source_dir=str(archive), entry_script="serve.py"),
    )
    submit = resolve(from_archive, account).environment["SAGEMAKER_SUBMIT_DIRECTORY"]
    assert submit == (
        "s3://sagemaker-us-east-1-123456789012/pytest-smendpoint/test/sourcedir.tar.gz"
    )
    bucket, key = submit[len("s3://") :].split("/", 1)
    body = account.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == archive.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["serve.py"]
