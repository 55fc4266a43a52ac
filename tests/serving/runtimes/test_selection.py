"""What serves a model and what the reports say of it: the image's runtime, the closest one here
when the image's Python is missing (saying what differs), or the test environment's."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.runtimes import install, interpreters, selection
from pytest_smendpoint.serving.runtimes.catalog import BY_TAG
from pytest_smendpoint.serving.runtimes.install import InstalledRuntime

IMAGE_1_9 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
IMAGE_1_2 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def test_without_the_images_python_the_description_says_what_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interpreters, "find", lambda minor, named=None: None)
    selection._find.cache_clear()
    installed = InstalledRuntime(
        python="/cache/venv/bin/python",
        python_version="3.11.7",
        packages=MappingProxyType(
            {
                "scikit-learn": "1.9.0",
                "numpy": "2.4.6",
                "scipy": "1.17.1",
                "pandas": "2.2.3",
                "joblib": "1.5.3",
                "threadpoolctl": "3.6.0",
                "pyarrow": "25.0.0",
            }
        ),
    )
    monkeypatch.setattr(install, "ensure", lambda runtime, interpreter: installed)
    chosen = selection.choose(IMAGE_1_9, selection.RuntimePolicy())
    assert chosen.faithful is False
    assert chosen.description == (
        "image sagemaker-scikit-learn:1.9-0: Python 3.11.7, scikit-learn 1.9.0, numpy 2.4.6, "
        "scipy 1.17.1, pandas 2.2.3; DIFFERS from the image (Python 3.12 was not found here): "
        "Python 3.11.7 instead of 3.12, numpy 2.4.6 instead of 2.5.1, scipy 1.17.1 instead of "
        "1.18.0"
    )


def test_a_named_interpreter_of_another_version_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "python3.12"
    fake.write_text("#!/bin/sh\necho 3.11.7\n")
    fake.chmod(0o755)
    policy = selection.RuntimePolicy(pythons={"3.12": str(fake)})
    with pytest.raises(ModelLoadError) as raised:
        selection.choose(IMAGE_1_9, policy)
    assert str(raised.value) == (
        f"--sm-image-python=3.12={fake} runs Python 3.11.7, not Python 3.12, the Python of image "
        "sagemaker-scikit-learn:1.9-0. To fix: name a Python 3.12 interpreter there, or leave "
        "the option out to look for one on PATH, under pyenv or uv."
    )


def test_the_test_environment_is_said_to_be_not_the_images() -> None:
    chosen = selection.choose(IMAGE_1_2, selection.RuntimePolicy("test-env"))
    assert chosen.python == sys.executable and chosen.image is None
    assert chosen.description.endswith("(--sm-image-packages=test-env): NOT the image's packages")


def test_a_custom_image_is_served_by_the_test_environment_saying_why() -> None:
    chosen = selection.choose(
        "123.dkr.ecr.us-east-1.amazonaws.com/my-inference-toolkit:1", selection.RuntimePolicy()
    )
    assert chosen.description.endswith("(the image's own packages are not known for this image)")


@pytest.mark.slow
def test_pins_without_wheels_for_the_python_here_fail_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    """The 1.2-1 image's scipy 1.8.0 has no wheel for Python 3.11 (nor does any older scipy):
    with no Python 3.9 here, the endpoint cannot be served as the image would be."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("scipy 1.8.0's wheels stop at Python 3.10; this needs a Python 3.11 here")
    monkeypatch.setattr(interpreters, "find", lambda minor, named=None: None)
    selection._find.cache_clear()
    monkeypatch.setenv(install.RUNTIME_CACHE_VARIABLE, str(tmp_path))
    with pytest.raises(ModelLoadError) as raised:
        selection.choose(IMAGE_1_2, selection.RuntimePolicy())
    message = str(raised.value)
    assert message.startswith(
        f"The packages of image sagemaker-scikit-learn:1.2-1 cannot be installed for Python "
        f"{sys.version.split()[0]} ({sys.executable}): pip finds no wheel of scipy"
    )
    assert "To fix: install Python 3.9 (for example `pyenv install 3.9`)" in message
    assert BY_TAG["sagemaker-scikit-learn:1.2-1"].packages["scipy"] == "1.8.0"


@pytest.fixture(autouse=True)
def _fresh_look_ups() -> Iterator[None]:
    """Each test finds interpreters anew (choose caches the look-up for a session)."""
    selection._find.cache_clear()
    interpreters.probe.cache_clear()
    yield
    selection._find.cache_clear()
