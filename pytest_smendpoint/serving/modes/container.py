"""The container emulated: the image's profile lays out the container (profiles/), and the model
runs in its own processes under the image's Python and packages (runtimes/)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.invocation import ContainerSpec, ServedModel
from pytest_smendpoint.serving.modes import LoadOptions


class ContainerMode:
    """Serves every model its options leave to the image (the default mode)."""

    def applies(self, options: LoadOptions) -> bool:
        return True

    def start(
        self, spec: ContainerSpec, s3: Any, options: LoadOptions, model_dir: Path, workdir: Path
    ) -> tuple[ServedModel, str | None]:
        return _start_profile(spec, s3, options, model_dir, workdir)


MODE = ContainerMode()


def _start_profile(
    spec: ContainerSpec, s3: Any, options: LoadOptions, model_dir: Path, workdir: Path
) -> tuple[ServedModel, str]:
    """The model's processes under its image's runtime, and the line describing that runtime."""
    from pytest_smendpoint.serving import requirements
    from pytest_smendpoint.serving.instance_cpus import default_workers
    from pytest_smendpoint.serving.model_process import (
        WORKERS_VARIABLE,
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
    # Checked even when the caller decides.
    workers = worker_count(spec.environment, default_workers(spec.instance_type))
    if spec.workers is not None:
        workers = spec.workers
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
    memory_limit = _memory_limit(spec)
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
        memory_limit=memory_limit,
        memory_text=_memory_text(spec, memory_limit),
    )
    # The container's default (one per vCPU) grows with concurrent requests; a count the caller
    # or SAGEMAKER_MODEL_SERVER_WORKERS sets starts whole.
    default = spec.workers is None and not spec.environment.get(WORKERS_VARIABLE)
    processes = ModelProcesses(launch, workers, at_start=1 if default else workers)
    try:
        processes.start()  # stops what it started before raising
    except ModelLoadError as error:
        why = explain.hint(model_dir, runtime.image) if runtime.image is not None else ""
        if why:
            raise ModelLoadError(f"{error} {why}") from None
        raise
    return processes, runtime.description


def _memory_limit(spec: ContainerSpec) -> int | None:
    """The bytes the model's processes may use: a serverless variant's MemorySizeInMB, else the
    instance type's memory."""
    from pytest_smendpoint.serving import instance_memory

    if spec.serverless is not None and spec.serverless.memory_mb is not None:
        return spec.serverless.memory_mb * 2**20
    return instance_memory.bound(spec.instance_type, spec.endpoint_name)


def _memory_text(spec: ContainerSpec, limit: int | None) -> str:
    """Whose memory bounds the model, as its out-of-memory line says it."""
    if spec.serverless is not None:
        return (
            f"the serverless endpoint's MemorySizeInMB is {spec.serverless.memory_mb} "
            f"({limit} bytes)"
        )
    return f"the instance ({spec.instance_type}) has {limit} bytes"


def _shown(path: Path, model_dir: Path, workdir: Path) -> str:
    """A path as the container would print it (/opt/ml/model/..., /opt/ml/code/...)."""
    for root, shown in ((model_dir, "/opt/ml/model"), (workdir / "code", "/opt/ml/code")):
        try:
            return f"{shown}/{path.relative_to(root)}"
        except ValueError:
            continue
    return str(path)
