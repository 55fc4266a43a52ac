"""SageMaker SDK objects an `sm_model` fixture returns, as the `ModelSpec` each one describes.

SDK v2: a `Model` (framework models too) through `prepare_container_def`, an `Estimator` through
`create_model()`. SDK v3: `sagemaker.core.resources.TrainingJob` and `Model`,
`sagemaker.serve.ModelBuilder` and a trained `sagemaker.train.ModelTrainer`, read field by field.
`ModelBuilder.build()` is never called: it fails under moto and sends telemetry.

Classes are recognised by name and module along the MRO, so nothing of the SDK is imported here:
`sagemaker.serve` alone takes 3.2 s to import, and only a user who made a ModelBuilder pays it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pytest_smendpoint.aws.resolve import (
    AwsContext,
    ExistingEndpoint,
    ModelSpec,
    _reason,
    from_training_job,
    model_data_url,
    role_arn,
)
from pytest_smendpoint.aws.source_bundle import DEFAULT_IGNORE, upload_source
from pytest_smendpoint.errors import AwsCallError, ModelResolutionError
from pytest_smendpoint.settings.environment import ContainerEnvironment
from pytest_smendpoint.settings.options import Settings

# What the SDK's script mode sets beside the entry script (`_script_mode_env_vars`): INFO.
CONTAINER_LOG_LEVEL = "20"


def from_user_object(obj: Any, settings: Settings, aws: AwsContext) -> ModelSpec | ExistingEndpoint:
    """What an `sm_model` fixture returned: our own specs, or a SageMaker SDK v2 or v3 object."""
    if isinstance(obj, (ModelSpec, ExistingEndpoint)):  # noqa: UP038 (Python 3.10 floor)
        return obj
    return spec_from_sdk_object(obj, settings, aws)


@dataclass(frozen=True)
class SdkClass:
    """An SDK class known by where it lives, so that it is matched without importing it."""

    module: str  # the class's module, or a package it lives under
    name: str

    def matches(self, obj: Any) -> bool:
        """`obj` is an instance of this class or of a subclass of it."""
        for klass in type(obj).__mro__:
            module = getattr(klass, "__module__", "") or ""
            in_module = module == self.module or module.startswith(self.module + ".")
            if klass.__name__ == self.name and in_module:
                return True
        return False


TRAINING_JOB = SdkClass("sagemaker.core.resources", "TrainingJob")
MODEL_RESOURCE = SdkClass("sagemaker.core.resources", "Model")
MODEL_BUILDER = SdkClass("sagemaker.serve", "ModelBuilder")
MODEL_TRAINER = SdkClass("sagemaker.train", "ModelTrainer")

ACCEPTED = (
    "return a pytest_smendpoint.ModelSpec, an ExistingEndpoint, a SageMaker SDK v2 Model or "
    "Estimator, or an SDK v3 sagemaker.core.resources.TrainingJob, sagemaker.core.resources.Model, "
    "sagemaker.serve.ModelBuilder or trained sagemaker.train.ModelTrainer"
)


def spec_from_sdk_object(obj: Any, settings: Settings, aws: AwsContext) -> ModelSpec:
    """The model an SDK object describes; ModelResolutionError names what is missing."""
    if TRAINING_JOB.matches(obj):
        return from_training_job(_name(obj, "training_job_name", "TrainingJob"), settings, aws)
    if MODEL_TRAINER.matches(obj):
        return _from_model_trainer(obj, settings, aws)
    if MODEL_RESOURCE.matches(obj):
        return _from_model_resource(obj, settings, aws)
    if MODEL_BUILDER.matches(obj):
        return _from_model_builder(obj, settings, aws)
    if hasattr(obj, "create_model") and hasattr(obj, "latest_training_job"):  # SDK v2 Estimator
        obj = obj.create_model()
    if hasattr(obj, "prepare_container_def"):  # SDK v2 Model and its framework subclasses
        return _from_v2_model(obj, settings, aws)
    raise ModelResolutionError(f"sm_model returned {type(obj).__qualname__}; {ACCEPTED}")


def _from_v2_model(model: Any, settings: Settings, aws: AwsContext) -> ModelSpec:
    container = model.prepare_container_def(instance_type=settings.instance_type)
    return ModelSpec(
        image_uri=container["Image"],
        role_arn=role_arn(getattr(model, "role", None) or settings.role, aws),
        model_data_url=container.get("ModelDataUrl"),
        environment=ContainerEnvironment(container.get("Environment", {})) | settings.env,
        name=getattr(model, "name", None) or settings.model_name,
        source=f"SDK object {type(model).__module__}.{type(model).__qualname__}",
    )


def _from_model_trainer(trainer: Any, settings: Settings, aws: AwsContext) -> ModelSpec:
    """What `train()` produced, resolved as --sm-training-job resolves a job."""
    # The SDK's own ModelBuilder(model=trainer) reads this private attribute too: it is the only
    # handle a ModelTrainer keeps on the job its train() ran.
    job = getattr(trainer, "_latest_training_job", None)
    if job is None:
        raise ModelResolutionError(
            "ModelTrainer has no training job: call train() before returning it from sm_model, "
            "or pass --sm-training-job"
        )
    name = _name(job, "training_job_name", "ModelTrainer's training job")
    spec = from_training_job(name, settings, aws)
    return dataclasses.replace(spec, source=f"ModelTrainer training job {name}")


def _from_model_resource(model: Any, settings: Settings, aws: AwsContext) -> ModelSpec:
    """An existing model's primary container, deployed as a copy under the session's own model
    name: teardown deletes only the models this session created, so the user's model stays."""
    name = _name(model, "model_name", "Model")
    if settings.model_name == name:
        # moto's CreateModel silently replaces a model of the same name, and teardown would
        # then delete it: the copy must not take the original's name.
        raise ModelResolutionError(
            f"--sm-model-name={name} is the name of the existing model sm_model returned; the "
            "session creates its own model from it and deletes that at the end, so give it "
            "another name or leave --sm-model-name unset"
        )
    try:
        described = aws.sagemaker.describe_model(ModelName=name)
    except ClientError as error:
        raise AwsCallError("DescribeModel", f"model {name}", _reason(error)) from None
    container = described.get("PrimaryContainer") or {}
    containers = described.get("Containers") or []
    if not container and len(containers) == 1:
        container = containers[0]
    if not container:
        raise ModelResolutionError(
            f"model {name!r} has no primary_container but {len(containers)} containers (an "
            "inference pipeline): pytest-smendpoint deploys one container; return a "
            "pytest_smendpoint.ModelSpec for the one to test"
        )
    image = container.get("Image") or settings.image_uri
    if not image:
        raise ModelResolutionError(
            f"model {name!r} has no image in its primary_container: pass --sm-image-uri"
        )
    return ModelSpec(
        image_uri=image,
        role_arn=role_arn(described.get("ExecutionRoleArn") or settings.role, aws),
        model_data_url=_container_data(container, f"model {name!r}"),
        environment=ContainerEnvironment(container.get("Environment", {})) | settings.env,
        name=None,  # never the original's name (see above)
        source=f"SDK v3 Model {name}",
    )


def _container_data(container: Mapping[str, Any], owner: str) -> str | None:
    """ModelDataUrl, or a ModelDataSource's gzip archive; an uncompressed prefix is refused."""
    if container.get("ModelDataUrl"):
        return str(container["ModelDataUrl"])
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if not source.get("S3Uri"):
        return None
    if source.get("CompressionType") == "Gzip":
        return str(source["S3Uri"])
    raise ModelResolutionError(
        f"{owner} serves uncompressed model data ({source['S3Uri']}, CompressionType "
        f"{source.get('CompressionType', 'None')}); pytest-smendpoint deploys a model.tar.gz: "
        "give one as the model data"
    )


def _from_model_builder(builder: Any, settings: Settings, aws: AwsContext) -> ModelSpec:
    """What `build()` would put in CreateModel for a pass-through model (image, data, role,
    environment, script-mode code), read without calling it."""
    image = _text(builder, "image_uri", "ModelBuilder") or settings.image_uri
    if not image:
        raise ModelResolutionError(
            "ModelBuilder has no image_uri: set image_uri=... or pass --sm-image-uri"
        )
    role = _text(builder, "role_arn", "ModelBuilder") or settings.role
    if role is None and aws.default_role is None:
        raise ModelResolutionError(
            "ModelBuilder has no role_arn: set role_arn=... or pass --sm-role"
        )
    data = _builder_model_data(builder, settings, aws)
    environment = ContainerEnvironment(_field(builder, "env_vars") or {})
    source_code = _field(builder, "source_code")
    if source_code is not None:
        environment |= _script_mode_environment(source_code, aws)
    environment |= settings.env
    return ModelSpec(
        image_uri=image,
        role_arn=role_arn(role, aws),
        model_data_url=data,
        environment=environment,
        name=settings.model_name,
        source="SDK v3 ModelBuilder",
    )


def _builder_model_data(builder: Any, settings: Settings, aws: AwsContext) -> str | None:
    """The model.tar.gz a ModelBuilder names, in the order its pass-through build reads them."""
    model_path = _field(builder, "model_path")
    if isinstance(model_path, str) and model_path.startswith("s3://"):
        return model_path
    data = _field(builder, "s3_model_data_url")
    if isinstance(data, Mapping):  # a ModelDataSource
        return _container_data({"ModelDataSource": data}, "ModelBuilder's s3_model_data_url")
    if isinstance(data, str) and data:
        if not data.startswith("s3://"):
            raise ModelResolutionError(
                f"ModelBuilder's s3_model_data_url={data!r} is not an s3:// URI: give the S3 "
                "URI of a model.tar.gz, or a local model folder as model_path="
            )
        return data
    model = _field(builder, "model")
    if isinstance(model, str) and model.startswith("s3://"):
        return model
    if TRAINING_JOB.matches(model):  # ModelBuilder(model=job): the job's artifacts
        job = _name(model, "training_job_name", "TrainingJob")
        return from_training_job(job, settings, aws).model_data_url
    if MODEL_TRAINER.matches(model):
        return _from_model_trainer(model, settings, aws).model_data_url
    # A local folder the user filled (the default model_path is a scratch folder build() fills).
    if isinstance(model_path, str) and _has_files(Path(model_path)):
        return model_data_url(model_path, aws)
    if settings.model_data:
        return model_data_url(settings.model_data, aws)
    what = model if model is not None else _field(builder, "inference_spec")
    if what is not None:
        shown = repr(what) if isinstance(what, str) else type(what).__name__
        raise ModelResolutionError(
            f"ModelBuilder has no s3_model_data_url: its model ({shown}) becomes model data only "
            "in build(), which pytest-smendpoint does not call; set s3_model_data_url=... (or "
            "model_path= a local model folder) or pass --sm-model-data"
        )
    return None  # an image that carries its own model


def _script_mode_environment(source_code: Any, aws: AwsContext) -> dict[str, str]:
    """The source packed and uploaded as sourcedir.tar.gz, and the variables that point the
    framework container at it, as the SDK's script mode sets them."""
    entry = _text(source_code, "entry_script", "ModelBuilder's source_code")
    source_dir = _text(source_code, "source_dir", "ModelBuilder's source_code")
    if not entry:
        raise ModelResolutionError(
            "ModelBuilder's source_code has no entry_script: set "
            "SourceCode(entry_script=...), the script the container runs"
        )
    if not source_dir:
        raise ModelResolutionError(
            "ModelBuilder's source_code has no source_dir: set SourceCode(source_dir=...), "
            f"the folder that holds {entry}"
        )
    if source_dir.startswith("s3://"):
        submit = source_dir  # the SDK uses an S3 source as it is
    else:
        local = Path(source_dir).expanduser()
        if local.is_dir():
            if not (local / entry).is_file():
                raise ModelResolutionError(
                    f"ModelBuilder's source_code: entry_script {entry} is not in source_dir {local}"
                )
        elif not (local.is_file() and local.name.endswith((".tar.gz", ".tgz"))):
            raise ModelResolutionError(
                f"ModelBuilder's source_code: source_dir {source_dir} is not a folder, a .tar.gz "
                "or an s3:// URI"
            )
        ignore = _field(source_code, "ignore_patterns")
        submit = upload_source(
            local,
            s3=aws.client("s3"),
            sts=aws.client("sts"),
            region=aws.region,
            key_prefix=aws.key_prefix,
            ignore=DEFAULT_IGNORE if ignore is None else tuple(ignore),
        )
        aws.uploads.append(submit)
    return {
        "SAGEMAKER_PROGRAM": entry,
        "SAGEMAKER_SUBMIT_DIRECTORY": submit,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": CONTAINER_LOG_LEVEL,
        "SAGEMAKER_REGION": aws.region,
    }


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _field(obj: Any, name: str) -> Any:
    """An attribute, None when absent or when sagemaker-core marks it `Unassigned()`."""
    value = getattr(obj, name, None)
    return None if type(value).__name__ == "Unassigned" else value


def _text(obj: Any, name: str, owner: str) -> str | None:
    """A string field; a pipeline variable (only a pipeline execution resolves it) is refused."""
    value = _field(obj, name)
    if value is None or isinstance(value, str):
        return value or None
    raise ModelResolutionError(
        f"{owner}'s {name} is a {type(value).__name__}, not a string: pytest-smendpoint "
        "deploys outside a pipeline and needs the value itself"
    )


def _name(obj: Any, name: str, owner: str) -> str:
    """A resource's name, which the SDK always sets on a resource it fetched or created."""
    value = _text(obj, name, owner)
    if not value:
        raise ModelResolutionError(f"{owner} has no {name}")
    return value


def async_inference_options(config: Any) -> dict[str, Any]:
    """The --sm-async-* option values an asynchronous inference configuration stands for:
    SDK v2's `sagemaker.async_inference.AsyncInferenceConfig` (read through its own
    `_to_request_dict()`, as its `Model.deploy` sends it), SDK v3's
    `sagemaker.core.shapes.AsyncInferenceConfig` (snake_case fields), or a mapping spelled as
    CreateEndpointConfig's AsyncInferenceConfig. KmsKeyId and NotificationConfig are not
    emulated; a config that sets them is refused rather than silently narrowed."""
    request = _async_request_dict(config)
    output = dict(request.get("OutputConfig") or {})
    client = dict(request.get("ClientConfig") or {})
    dropped = sorted(key for key in ("KmsKeyId", "NotificationConfig") if output.get(key))
    if dropped:
        raise ModelResolutionError(
            f"async_inference_config sets {', '.join(dropped)}: pytest-smendpoint does not "
            "send or emulate it; leave it out for the test endpoint"
        )
    options: dict[str, Any] = {"async": True}
    if output.get("S3OutputPath"):
        options["async_output_path"] = output["S3OutputPath"]
    if output.get("S3FailurePath"):
        options["async_failure_path"] = output["S3FailurePath"]
    if client.get("MaxConcurrentInvocationsPerInstance") is not None:
        options["async_max_concurrent_invocations"] = client["MaxConcurrentInvocationsPerInstance"]
    return options


def _async_request_dict(config: Any) -> Mapping[str, Any]:
    if isinstance(config, Mapping):
        return config
    to_request = getattr(config, "_to_request_dict", None)
    if callable(to_request):  # SDK v2
        made: Mapping[str, Any] = to_request()
        return made
    output = getattr(config, "output_config", None)
    if output is not None:  # SDK v3's shape: snake_case, unset fields None or Unassigned
        client = getattr(config, "client_config", None)
        return {
            "OutputConfig": {
                "S3OutputPath": _set(getattr(output, "s3_output_path", None)),
                "S3FailurePath": _set(getattr(output, "s3_failure_path", None)),
                "KmsKeyId": _set(getattr(output, "kms_key_id", None)),
                "NotificationConfig": _set(getattr(output, "notification_config", None)),
            },
            "ClientConfig": {
                "MaxConcurrentInvocationsPerInstance": _set(
                    getattr(client, "max_concurrent_invocations_per_instance", None)
                )
            },
        }
    raise ModelResolutionError(
        f"async_inference_config=<{type(config).__name__}>: give a SageMaker SDK "
        "AsyncInferenceConfig (v2 sagemaker.async_inference, v3 sagemaker.core.shapes) or a "
        "mapping spelled as CreateEndpointConfig's AsyncInferenceConfig"
    )


def _set(value: Any) -> Any:
    """None for a field an SDK v3 shape leaves unset (its `Unassigned` marker)."""
    return None if value is None or type(value).__name__ == "Unassigned" else value
