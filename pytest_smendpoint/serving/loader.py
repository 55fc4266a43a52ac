"""Load one model the way its container would: unpack /opt/ml/model into a private directory,
then start it in the serving mode the options choose (modes/). The pool (pool.py) keeps what
this loads."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.invocation import (
    ContainerSpec,
    InvokeRequest,
    InvokeResult,
    ServedModel,
)
from pytest_smendpoint.serving.modes import LoadOptions, mode_for
from pytest_smendpoint.serving.source import download_s3_prefix, unpack_s3_tarball
from pytest_smendpoint.settings import limits
from pytest_smendpoint.tempdirs import MODEL_PREFIX


class LoadedModel:
    """A served model plus the private directory it lives in; close() removes both."""

    def __init__(
        self, spec: ContainerSpec, served: ServedModel, workdir: Path, runtime: str | None = None
    ) -> None:
        self.spec = spec
        self.served = served
        self.workdir = workdir
        # What served it, for the reports: "image sagemaker-scikit-learn:1.9-0: Python ...".
        self.runtime = runtime
        # Whether it reads CSV numbers as float32 (a container profile's model processes say
        # so; a serve command's server is not known to).
        self.csv_float32 = getattr(served, "csv_float32", False) is True

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        return self.served.invoke(request)

    def close(self) -> None:
        try:
            self.served.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def load_model(spec: ContainerSpec, s3: Any, options: LoadOptions) -> LoadedModel:
    """Fetch and serve; on failure stop what started, remove the private directory and raise
    (ModelLoadError: why, which becomes the endpoint's FailureReason)."""
    if spec.serverless is not None:  # /ping within 3 minutes, whatever the session's bound
        options = dataclasses.replace(
            options, startup_timeout=limits.SERVERLESS_STARTUP_TIMEOUT_SECONDS
        )
    # Named for this process, so that the next run removes it if this one is killed.
    workdir = Path(tempfile.mkdtemp(prefix=f"{MODEL_PREFIX}{os.getpid()}-{spec.endpoint_name}-"))
    try:
        model_dir = workdir / "model"
        model_dir.mkdir()
        if spec.model_data_url:
            unpack_s3_tarball(s3, spec.model_data_url, model_dir)
        elif spec.uncompressed_prefix:
            download_s3_prefix(s3, spec.uncompressed_prefix, model_dir)
        served, runtime = mode_for(options).start(spec, s3, options, model_dir, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return LoadedModel(spec, served, workdir, runtime)
