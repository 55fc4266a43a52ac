"""SDK objects are told apart by class name and module, so resolving imports no SDK: only a user
who made a ModelBuilder has paid for `sagemaker.serve`. Runs under either SDK major."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

from pytest_smendpoint.aws.sdk_objects import (
    MODEL_BUILDER,
    MODEL_RESOURCE,
    MODEL_TRAINER,
    TRAINING_JOB,
)


def instance_of(module: str, name: str, base: type = object) -> Any:
    return type(name, (base,), {"__module__": module})()


def test_sdk_v3_classes_and_their_subclasses_are_recognised() -> None:
    builder = instance_of("sagemaker.serve.model_builder", "ModelBuilder")
    assert MODEL_BUILDER.matches(builder)
    assert MODEL_BUILDER.matches(instance_of(__name__, "TeamBuilder", type(builder)))
    assert MODEL_TRAINER.matches(instance_of("sagemaker.train.model_trainer", "ModelTrainer"))
    assert TRAINING_JOB.matches(instance_of("sagemaker.core.resources", "TrainingJob"))
    assert MODEL_RESOURCE.matches(instance_of("sagemaker.core.resources", "Model"))


def test_look_alikes_are_not_sdk_v3_objects() -> None:
    assert not MODEL_RESOURCE.matches(instance_of("sagemaker.model", "Model"))  # SDK v2
    assert not MODEL_RESOURCE.matches(instance_of("sagemaker.core.shapes", "Model"))
    assert not MODEL_BUILDER.matches(instance_of("sagemaker.server", "ModelBuilder"))
    assert not MODEL_BUILDER.matches(instance_of("sagemaker.serve", "Builder"))
    assert not TRAINING_JOB.matches(None)


def test_resolving_imports_no_sagemaker_sdk() -> None:
    script = textwrap.dedent(
        """
        import sys
        from pytest_smendpoint.aws.resolve import ModelSpec
        from pytest_smendpoint.aws.sdk_objects import from_user_object
        from pytest_smendpoint.errors import ModelResolutionError
        from pytest_smendpoint.settings.options import Settings

        spec = ModelSpec(image_uri="img", role_arn="arn:aws:iam::1:role/r")
        assert from_user_object(spec, Settings(), None) is spec
        try:
            from_user_object(object(), Settings(), None)
        except ModelResolutionError:
            pass
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "sagemaker")
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
