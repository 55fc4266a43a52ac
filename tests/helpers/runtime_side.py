"""Running a script inside an image runtime's interpreter (its Python and packages only, plus
the folders given): how the differential tests put the profile and the container's reference
code side by side under the image's own numpy."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy, ServingRuntime, choose


def faithful_runtime(image: str) -> ServingRuntime:
    """The image's runtime; the test fails (not skips) where its Python is missing here."""
    runtime = choose(image, RuntimePolicy())
    if not runtime.faithful:
        pytest.fail(f"{image}'s Python is not on this machine: {runtime.description}")
    return runtime


def ask(
    runtime: ServingRuntime,
    script: Path,
    cases: Sequence[dict[str, Any]],
    paths: Sequence[Path],
    **variables: str,
) -> list[dict[str, Any]]:
    """`script`'s JSON answers to `cases` (JSON on its stdin), run by the runtime's interpreter
    with `paths` and the plugin on PYTHONPATH and none of this environment's PYTHON* variables."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        "PYTHONPATH": os.pathsep.join([*map(str, paths), *runtime.plugin_path]),
        **variables,
    }
    done = subprocess.run(
        [runtime.python, str(script)],
        input=json.dumps(list(cases)), capture_output=True, text=True, env=environment,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]
