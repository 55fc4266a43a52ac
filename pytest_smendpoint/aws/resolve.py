"""From a model source (settings, training job) to the `ModelSpec` to deploy.

What an `sm_model` fixture returns (a spec or an SDK object) is read in sdk_objects.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pytest_smendpoint.aws.artifacts import upload_model_data
from pytest_smendpoint.errors import AwsCallError, ModelResolutionError
from pytest_smendpoint.settings.environment import ContainerEnvironment, as_environment
from pytest_smendpoint.settings.options import ROLE_ARN, Settings


@dataclass(frozen=True)
class ModelSpec:
    """A SageMaker model to create: one container, its artifacts, environment and role.

    Return one from an `sm_model` fixture override to deploy exactly this.
    """

    image_uri: str
    role_arn: str
    model_data_url: str | None = None
    environment: Mapping[str, str] = field(default_factory=ContainerEnvironment)
    name: str | None = None
    source: str = "model spec"

    def __post_init__(self) -> None:
        # Values are often credentials: whatever mapping was given, it prints masked.
        object.__setattr__(self, "environment", as_environment(self.environment))


@dataclass(frozen=True)
class ExistingEndpoint:
    """An endpoint to use as it is: the deployment owns nothing and deletes nothing."""

    name: str


@dataclass(frozen=True)
class AwsContext:
    """The clients and facts resolution needs from the backend."""

    session: Any  # boto3.Session
    region: str
    sagemaker: Any
    backend: str
    key_prefix: str
    # Where uploads are recorded (the backend's list): teardown deletes exactly these.
    uploads: list[str] = field(default_factory=list)
    # The role of a model that names none (the backend's; under moto, the mocked account's).
    default_role: str | None = None

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region)


def aws_context(backend: Any, identity: Any, sagemaker: Any) -> AwsContext:
    """What resolution needs of a backend (aws/backends.Backend) for a session (its identity)."""
    from pytest_smendpoint.aws.uploads import session_key_prefix

    return AwsContext(
        session=backend.boto_session,
        region=backend.region,
        sagemaker=sagemaker,
        backend=backend.name,
        key_prefix=session_key_prefix(identity.session_id),
        uploads=backend.uploads,
        default_role=backend.default_role,
    )


def resolve_from_settings(settings: Settings, aws: AwsContext) -> ModelSpec | ExistingEndpoint:
    """The model the settings name; the caller has checked that some source is set."""
    if settings.existing_endpoint:
        return ExistingEndpoint(settings.existing_endpoint)
    if settings.training_job:
        return from_training_job(settings.training_job, settings, aws)
    if settings.model_data:
        assert settings.image_uri  # the settings validator insists on it
        return ModelSpec(
            image_uri=settings.image_uri,
            role_arn=role_arn(settings.role, aws),
            model_data_url=model_data_url(settings.model_data, aws),
            environment=settings.env,
            name=settings.model_name,
            source=f"model data {settings.model_data}",
        )
    raise ModelResolutionError("no model source is configured")


def model_data_url(model_data: str, aws: AwsContext) -> str:
    if model_data.startswith("s3://"):
        return model_data
    uri = upload_model_data(
        Path(model_data),
        s3=aws.client("s3"),
        sts=aws.client("sts"),
        region=aws.region,
        key_prefix=aws.key_prefix,
    )
    aws.uploads.append(uri)
    return uri


def role_arn(role: str | None, aws: AwsContext) -> str:
    """An ARN for the model's ExecutionRoleArn; a bare name is completed with the account id."""
    if role is None:
        if aws.default_role is not None:
            return aws.default_role
        raise ModelResolutionError(
            "a model is created but no role is set: give --sm-role (or sm_role) an IAM role "
            "ARN or name that SageMaker can assume"
        )
    if ROLE_ARN.match(role):
        return role
    # Paths are not guessed: a role with a path must be given as an ARN.
    account = aws.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:iam::{account}:role/{role}"


def from_training_job(job_name: str, settings: Settings, aws: AwsContext) -> ModelSpec:
    """What `Estimator.attach(job).deploy()` deploys: the job's artifacts, image and role."""
    try:
        job = aws.sagemaker.describe_training_job(TrainingJobName=job_name)
    except ClientError as error:
        raise AwsCallError(
            "DescribeTrainingJob", f"training job {job_name}", _reason(error)
        ) from None
    status = job.get("TrainingJobStatus")
    if status != "Completed":
        reason = job.get("FailureReason")
        raise ModelResolutionError(
            f"training job {job_name!r} is {status}, not Completed"
            + (f": {reason}" if reason else "")
        )
    artifacts = job.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if not artifacts:
        raise ModelResolutionError(f"training job {job_name!r} has no ModelArtifacts")
    image = settings.image_uri or job["AlgorithmSpecification"].get("TrainingImage")
    if not image:
        raise ModelResolutionError(
            f"training job {job_name!r} names no TrainingImage: give --sm-image-uri"
        )
    env = ContainerEnvironment()
    # Framework jobs carry their entry point as hyperparameters; the SDK turns them into these.
    hyper = job.get("HyperParameters", {})
    for hyper_key, env_key in (
        ("sagemaker_program", "SAGEMAKER_PROGRAM"),
        ("sagemaker_submit_directory", "SAGEMAKER_SUBMIT_DIRECTORY"),
    ):
        if hyper_key in hyper:
            env |= {env_key: hyper[hyper_key].strip('"')}
    env |= settings.env
    return ModelSpec(
        image_uri=image,
        role_arn=role_arn(settings.role, aws) if settings.role else job["RoleArn"],
        model_data_url=artifacts,
        environment=env,
        name=settings.model_name,
        source=f"training job {job_name}",
    )


def _reason(error: ClientError) -> str:
    info = error.response.get("Error", {})
    return f"{info.get('Code', 'Error')}: {info.get('Message', str(error))}"
