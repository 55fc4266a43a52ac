"""Images the local serving cannot reproduce: an endpoint naming one ends Failed, saying why and
how to serve it anyway (--sm-serve-command, the bring-your-own contract)."""

from __future__ import annotations

from pytest_smendpoint.serving.profiles.base import Staged, StageInput, StartupFailure

# Nothing is served: no model process to preload for.
PRELOAD: tuple[str, ...] = ()

EXAMPLE = '--sm-serve-command="{python} serve.py --port {port} --model-dir {model_dir}"'
CONTRACT = (
    "a command that answers GET /ping and POST /invocations on 127.0.0.1:{port} as the "
    "container does, for example " + EXAMPLE + " (or sm_serve_command in pytest.ini)"
)


def unfaithful(given: StageInput) -> Staged:
    """Framework images with their own model server (TorchServe, the HuggingFace toolkit,
    TensorFlow Serving, DJL, Triton...): emulating them would make a green test mean nothing."""
    raise StartupFailure(
        f"Local serving does not reproduce image {given.image}: its model server "
        "(TorchServe, TensorFlow Serving, the HuggingFace or DJL handlers...) is not emulated, "
        "and serving the model another way would pass where SageMaker fails. Serve it with "
        f"--sm-serve-command: {CONTRACT}."
    )


def bring_your_own(given: StageInput) -> Staged:
    """Any other image: its serving program is inside the image, which is not available."""
    raise StartupFailure(
        f"Image {given.image} is not a container the local serving emulates "
        "(sagemaker-scikit-learn, sagemaker-xgboost, or an image whose repository name "
        "contains inference-toolkit): a bring-your-own image serves with its own program. "
        f"Give it with --sm-serve-command: {CONTRACT}."
    )
