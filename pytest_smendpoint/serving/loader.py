"""Load one production variant's model the way its container would: unpack /opt/ml/model into a
private directory, then either start the bring-your-own server (--sm-serve-command) or let the
image's profile lay out the container and start the model's own processes."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.byo import ByoServer
from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.invocation import InvokeRequest, InvokeResult, ServedModel
from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy
from pytest_smendpoint.serving.source import ContainerSpec, download_s3_prefix, unpack_s3_tarball
from pytest_smendpoint.tempdirs import MODEL_PREFIX


@dataclass(frozen=True)
class LoadOptions:
    """How every endpoint of a serving is loaded."""

    serve_command: str | None
    startup_timeout: float
    # Where the serve command runs: the folder its option was written relative to.
    serve_directory: Path | None = None
    # Whose Python and packages serve the model: the image's, unless asked otherwise.
    runtime: RuntimePolicy = field(default_factory=RuntimePolicy)


class LoadedEndpoint:
    """A served model plus the private directory it lives in; close() removes both."""

    def __init__(
        self, spec: ContainerSpec, served: ServedModel, workdir: Path, runtime: str | None = None
    ) -> None:
        self.spec = spec
        self.served = served
        self.workdir = workdir
        # What served it, for the reports: "image sagemaker-scikit-learn:1.9-0: Python ...".
        self.runtime = runtime

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        return self.served.invoke(request)

    def close(self) -> None:
        try:
            self.served.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def load_endpoint(spec: ContainerSpec, s3: Any, options: LoadOptions) -> LoadedEndpoint:
    """Fetch and serve; on failure stop what started, remove the private directory and raise
    (ModelLoadError: why, which becomes the endpoint's FailureReason)."""
    # Named for this process, so that the next run removes it if this one is killed.
    workdir = Path(tempfile.mkdtemp(prefix=f"{MODEL_PREFIX}{os.getpid()}-{spec.endpoint_name}-"))
    try:
        model_dir = workdir / "model"
        model_dir.mkdir()
        if spec.model_data_url:
            unpack_s3_tarball(s3, spec.model_data_url, model_dir)
        elif spec.uncompressed_prefix:
            download_s3_prefix(s3, spec.uncompressed_prefix, model_dir)
        served: ServedModel
        runtime: str | None = None
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
            runtime = "the bring-your-own serve command (--sm-serve-command)"
        else:
            served, runtime = _start_profile(spec, s3, options, model_dir, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return LoadedEndpoint(spec, served, workdir, runtime)


def _start_profile(
    spec: ContainerSpec, s3: Any, options: LoadOptions, model_dir: Path, workdir: Path
) -> tuple[ServedModel, str]:
    """The model's processes under its image's runtime, and the line describing that runtime."""
    from pytest_smendpoint.serving import instance_memory, requirements
    from pytest_smendpoint.serving.model_process import (
        Launch,
        ModelProcesses,
        process_environment,
        worker_count,
    )
    from pytest_smendpoint.serving.profiles import stage_for
    from pytest_smendpoint.serving.profiles.base import StageInput, StartupFailure
    from pytest_smendpoint.serving.runtimes import explain
    from pytest_smendpoint.serving.runtimes.catalog import UnknownImageTag
    from pytest_smendpoint.serving.runtimes.selection import choose

    image = spec.image or ""
    given = StageInput(
        image=image,
        variant_name=spec.variant_name,
        environment=spec.environment,
        model_dir=model_dir,
        workdir=workdir,
        s3=s3,
        packages=options.runtime.packages,
    )
    try:
        staged = stage_for(image)(given)
    except StartupFailure as failure:
        raise ModelLoadError(str(failure)) from None
    workers = worker_count(spec.environment)
    try:
        runtime = choose(image, options.runtime)  # a one-off install, like the image's pull
    except UnknownImageTag as error:
        raise ModelLoadError(str(error)) from None
    # The start-up health check's clock starts with the container: requirements, the entry
    # script's import and model_fn all count against it.
    started = time.monotonic()
    deadline = started + options.startup_timeout
    region = spec.environment.get("SAGEMAKER_REGION", "us-east-1")
    python_path: list[Path] = []
    if staged.requirements is not None:
        shown = _shown(staged.requirements, model_dir, workdir)
        container = process_environment(spec.environment, staged.image_environment, [], region)
        python_path.append(
            requirements.install(
                staged.requirements, shown, runtime.python, container, deadline=deadline
            )
        )
    if staged.code_dir is not None:
        python_path.append(staged.code_dir)
    # Last: the model's own folders and requirements come first, as in the container.
    python_path += [Path(p) for p in runtime.plugin_path]
    cwd = workdir / "work"
    cwd.mkdir(exist_ok=True)
    launch = Launch(
        endpoint_name=spec.endpoint_name,
        worker_module=staged.worker_module,
        model_dir=model_dir,
        code_dir=staged.code_dir,
        settings=staged.settings,
        environment=process_environment(
            spec.environment, staged.image_environment, python_path, region=region
        ),
        cwd=cwd,
        log_path=workdir / "model.log",
        startup_timeout=options.startup_timeout,
        started=started,
        forkable=staged.requirements is None,
        python=runtime.python,
        plugin_path=runtime.plugin_path,
        memory_limit=instance_memory.bound(spec.instance_type, spec.endpoint_name),
    )
    processes = ModelProcesses(launch, workers)
    try:
        processes.start()  # stops what it started before raising
    except ModelLoadError as error:
        why = explain.hint(model_dir, runtime.image) if runtime.image is not None else ""
        if why:
            raise ModelLoadError(f"{error} {why}") from None
        raise
    return processes, runtime.description


def _shown(path: Path, model_dir: Path, workdir: Path) -> str:
    """A path as the container would print it (/opt/ml/model/..., /opt/ml/code/...)."""
    for root, shown in ((model_dir, "/opt/ml/model"), (workdir / "code", "/opt/ml/code")):
        try:
            return f"{shown}/{path.relative_to(root)}"
        except ValueError:
            continue
    return str(path)
