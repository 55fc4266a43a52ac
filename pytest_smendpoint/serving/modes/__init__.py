"""Serving modes: how a production variant's model is served once its data is unpacked. One
module each (container.py: the image's container emulated; byo.py: the bring-your-own serve
command), each with a `MODE` that keeps the `ServingMode` contract, and one line in `MODES`.
A mode that serves through Docker would be one more module and one more line."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytest_smendpoint.serving.invocation import ContainerSpec, ServedModel
from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy


@dataclass(frozen=True)
class LoadOptions:
    """How every endpoint of a serving is loaded: what every mode may read."""

    serve_command: str | None
    startup_timeout: float
    # Where the serve command runs: the folder its option was written relative to.
    serve_directory: Path | None = None
    # Whose Python and packages serve the model: the image's, unless asked otherwise.
    runtime: RuntimePolicy = field(default_factory=RuntimePolicy)


class ServingMode(Protocol):
    """One way of serving a model: whether the options ask for it, and how to start it."""

    def applies(self, options: LoadOptions) -> bool: ...

    def start(
        self, spec: ContainerSpec, s3: Any, options: LoadOptions, model_dir: Path, workdir: Path
    ) -> tuple[ServedModel, str | None]:
        """The served model, started (or raise ModelLoadError, having stopped what started),
        and the line that says what serves it, for the reports."""
        ...


# The registry: the first mode whose `applies` says yes serves; the last one always does.
MODES: tuple[str, ...] = ("byo", "container")


def mode_for(options: LoadOptions) -> ServingMode:
    """The mode that serves every model under `options`."""
    for name in MODES:
        mode: ServingMode = importlib.import_module(f"{__name__}.{name}").MODE
        if mode.applies(options):
            return mode
    raise LookupError(f"no serving mode applies to {options}")
