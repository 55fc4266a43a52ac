"""Load one endpoint's model the way its container would: unpack /opt/ml/model into a private
directory, then either import the handler script or start the bring-your-own server."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.byo import ByoServer
from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.handler import load_handler_model
from pytest_smendpoint.serving.invocation import InvokeRequest, InvokeResult, ServedModel
from pytest_smendpoint.serving.source import ContainerSpec, download_s3_prefix, unpack_s3_tarball

# SageMaker mounts the model here; env values (SAGEMAKER_SUBMIT_DIRECTORY) may point into it.
CONTAINER_MODEL_DIR = "/opt/ml/model"


@dataclass(frozen=True)
class LoadOptions:
    """How every endpoint of a serving is loaded."""

    serve_command: str | None
    startup_timeout: float
    # Where the serve command runs: the folder its option was written relative to.
    serve_directory: Path | None = None


class LoadedEndpoint:
    """A served model plus the private directory it lives in; close() removes both."""

    def __init__(self, spec: ContainerSpec, served: ServedModel, workdir: Path) -> None:
        self.spec = spec
        self.served = served
        self.workdir = workdir

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        return self.served.invoke(request)

    def close(self) -> None:
        try:
            self.served.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def load_endpoint(spec: ContainerSpec, s3: Any, options: LoadOptions) -> LoadedEndpoint:
    """Fetch and serve; on failure remove the private directory and raise (ModelLoadError: why)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"smendpoint-{spec.endpoint_name}-"))
    try:
        model_dir = workdir / "model"
        model_dir.mkdir()
        if spec.model_data_url:
            unpack_s3_tarball(s3, spec.model_data_url, model_dir)
        elif spec.uncompressed_prefix:
            download_s3_prefix(s3, spec.uncompressed_prefix, model_dir)
        served: ServedModel
        if options.serve_command:
            server = ByoServer(
                spec.endpoint_name,
                options.serve_command,
                model_dir,
                workdir / "serve.log",
                spec.environment,
                options.startup_timeout,
                cwd=options.serve_directory,
            )
            try:
                server.start()
            except BaseException:
                server.close()
                raise
            served = server
        else:
            code_dir = _code_dir(spec, s3, model_dir, workdir)
            served = load_handler_model(model_dir, code_dir, spec.environment)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return LoadedEndpoint(spec, served, workdir)


def _code_dir(spec: ContainerSpec, s3: Any, model_dir: Path, workdir: Path) -> Path:
    """SAGEMAKER_SUBMIT_DIRECTORY (an s3:// tar.gz or a path), else the model's code/ folder."""
    submit = spec.environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if not submit:
        return model_dir / "code"
    if submit.startswith("s3://"):
        code_dir = workdir / "code"
        unpack_s3_tarball(s3, submit, code_dir)
        return code_dir
    if submit == CONTAINER_MODEL_DIR or submit.startswith(CONTAINER_MODEL_DIR + "/"):
        # The SDK's repacked models say /opt/ml/model/code: that is our private model dir.
        return model_dir / submit[len(CONTAINER_MODEL_DIR) :].lstrip("/")
    path = Path(submit).expanduser()
    if not path.is_dir():
        raise ModelLoadError(f"SAGEMAKER_SUBMIT_DIRECTORY={submit} is not a folder")
    return path
