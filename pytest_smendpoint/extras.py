"""Optional dependencies live behind extras; a feature whose extra is missing says the exact
command that installs it, instead of an ImportError from deep inside."""

from __future__ import annotations

import importlib.util
import sys

from pytest_smendpoint.errors import SmEndpointError


class MissingExtraError(SmEndpointError, ModuleNotFoundError):
    """A feature needs a package that only one of the plugin's extras installs."""


def missing(*modules: str) -> list[str]:
    """The modules of `modules` that cannot be imported (without importing them)."""
    absent = []
    for module in modules:
        if module in sys.modules:
            if sys.modules[module] is None:  # blocked, as `-p no:` or a test does
                absent.append(module)
            continue
        try:
            if importlib.util.find_spec(module) is None:
                absent.append(module)
        except (ImportError, ValueError):
            absent.append(module)
    return absent


def install_hint(*extras: str) -> str:
    return " or ".join(f'pip install "pytest-smendpoint[{extra}]"' for extra in extras)


def require(feature: str, extra: str, *modules: str) -> None:
    """Raise MissingExtraError naming `feature` and the install command if a module is absent."""
    absent = missing(*modules)
    if absent:
        raise MissingExtraError(
            f"{feature} needs {', '.join(absent)}, which is not installed: {install_hint(extra)}"
        )
