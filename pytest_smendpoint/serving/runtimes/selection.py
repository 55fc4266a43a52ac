"""Which Python and packages serve one endpoint's model: the image's (the default), or the test
environment's (--sm-image-packages=test-env, or an image whose packages are not recorded), with
a line saying which for the reports."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.runtimes import interpreters
from pytest_smendpoint.serving.runtimes.catalog import ImageRuntime, runtime_for

IMAGE = "image"
TEST_ENVIRONMENT = "test-env"
POLICIES = (IMAGE, TEST_ENVIRONMENT)
# The packages a line in the reports names, when installed.
SHOWN = ("scikit-learn", "xgboost", "numpy", "scipy", "pandas")


@dataclass(frozen=True)
class RuntimePolicy:
    """The session's choice (--sm-image-packages, --sm-image-python)."""

    packages: str = IMAGE
    pythons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ServingRuntime:
    """How the model's processes start, and what the reports say of it."""

    python: str
    # Folders the interpreter needs on PYTHONPATH to import the plugin's serving code.
    plugin_path: tuple[str, ...]
    description: str
    image: ImageRuntime | None = None
    faithful: bool = False  # the image's Python minor version and its exact pins


def choose(image: str, policy: RuntimePolicy) -> ServingRuntime:
    """Install (once) and describe the runtime for `image`. UnknownImageTag for a framework
    image of an unknown version; ModelLoadError when its packages cannot be installed, or when
    --sm-image-python names an interpreter of another version."""
    from pytest_smendpoint.serving.runtimes import install

    here = interpreters.current()
    if policy.packages == TEST_ENVIRONMENT:
        return ServingRuntime(
            here.path,
            (),
            f"the test environment's Python {here.version} and packages "
            "(--sm-image-packages=test-env): NOT the image's packages",
        )
    runtime = runtime_for(image)
    if runtime is None:
        return ServingRuntime(
            here.path,
            (),
            f"the test environment's Python {here.version} and packages (the image's own "
            "packages are not known for this image)",
        )
    found = _find(runtime.python, tuple(sorted(policy.pythons.items())))
    named = policy.pythons.get(runtime.python)
    if found is None and named is not None:
        probed = interpreters.probe(named)
        runs = f"runs Python {probed.version}" if probed else "does not run"
        raise ModelLoadError(
            f"--sm-image-python={runtime.python}={named} {runs}, not Python {runtime.python}, "
            f"the Python of image {runtime.tag}. To fix: name a Python {runtime.python} "
            "interpreter there, or leave the option out to look for one on PATH, under pyenv "
            "or uv."
        )
    interpreter = found or here
    installed = install.ensure(runtime, interpreter)
    differences = _differences(runtime, installed.python_version, installed.packages)
    versions = {name: installed.packages.get(runtime.install_as.get(name, name)) for name in SHOWN}
    shown = ", ".join(f"{name} {version}" for name, version in versions.items() if version)
    text = f"image {runtime.tag}: Python {installed.python_version}, {shown}"
    if differences:
        why = (
            f"Python {runtime.python} was not found here"
            if found is None
            else "the image's pins did not all install"
        )
        text += f"; DIFFERS from the image ({why}): " + ", ".join(differences)
    return ServingRuntime(
        installed.python,
        (str(install.plugin_path()),),
        text,
        runtime,
        faithful=not differences,
    )


@functools.cache
def _find(minor: str, named: tuple[tuple[str, str], ...]) -> interpreters.Interpreter | None:
    """interpreters.find, once per session and version: every deploy asks again, and a look-up
    may start `uv`."""
    return interpreters.find(minor, dict(named))


def _differences(
    runtime: ImageRuntime, python_version: str, packages: Mapping[str, str]
) -> list[str]:
    found = []
    minor = ".".join(python_version.split(".")[:2])
    if minor != runtime.python:
        found.append(f"Python {python_version} instead of {runtime.python}")
    for name, pinned in runtime.packages.items():
        have = packages.get(runtime.install_as.get(name, name))
        if pinned and have != pinned:
            found.append(f"{name} {have or 'missing'} instead of {pinned}")
    return found
