"""The image runtime's installation: exact pins on the image's Python, the nearest releases on
another, and a refusal that names the image, the package, the interpreter and the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.runtimes import install
from pytest_smendpoint.serving.runtimes.catalog import BY_TAG
from pytest_smendpoint.serving.runtimes.interpreters import Interpreter

SKLEARN_1_9 = BY_TAG["sagemaker-scikit-learn:1.9-0"]
XGBOOST_3_0 = BY_TAG["sagemaker-xgboost:3.0-5"]


def test_the_images_python_gets_exact_pins() -> None:
    assert install.requested(SKLEARN_1_9, Interpreter("/x/python3.12", "3.12.1")) == [
        "scikit-learn==1.9.0",
        "numpy==2.5.1",
        "scipy==1.18.0",
        "pandas==2.2.3",
        "joblib==1.5.3",
        "threadpoolctl==3.6.0",
        "pyarrow==25.0.0",
    ]


def test_another_python_gets_the_nearest_release_at_or_below_each_pin() -> None:
    pins = install.requested(SKLEARN_1_9, Interpreter("/x/python3.11", "3.11.7"))
    assert pins[:2] == ["scikit-learn<=1.9.0", "numpy<=2.5.1"]


def test_xgboost_installs_without_cuda_and_unpinned_stays_unpinned() -> None:
    pins = install.requested(XGBOOST_3_0, Interpreter("/x/python3.10", "3.10.13"))
    assert pins[0] == "xgboost-cpu==3.0.5"
    unpinned = BY_TAG["sagemaker-scikit-learn:1.4-2-py312"]
    assert "scipy" in install.requested(unpinned, Interpreter("/x/python3.12", "3.12.1"))


def test_a_pin_without_a_wheel_is_refused_naming_image_package_python_and_fix() -> None:
    interpreter = Interpreter("/x/python3.11", "3.11.7")
    pip_says = "ERROR: No matching distribution found for numpy==2.5.1"
    failing = [sys.executable, "-c", f"import sys; sys.stderr.write({pip_says!r}); sys.exit(1)"]
    with pytest.raises(ModelLoadError) as raised:
        install._run(failing, SKLEARN_1_9, interpreter, "pip install")
    assert str(raised.value) == (
        "The packages of image sagemaker-scikit-learn:1.9-0 cannot be installed for Python "
        "3.11.7 (/x/python3.11): pip finds no wheel of numpy that fits (the image pins numpy "
        "2.5.1 on Python 3.12). To fix: install Python 3.12 (for example `pyenv install 3.12`) "
        "or name one with --sm-image-python=3.12=/path/to/python3.12; without a package index, "
        f"serve with --sm-image-packages=test-env. pip said:\n{pip_says}"
    )


def test_the_plugin_is_importable_from_a_folder_of_its_own(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(install.RUNTIME_CACHE_VARIABLE, str(tmp_path))
    folder = install.plugin_path()
    assert [p.name for p in folder.iterdir()] == ["pytest_smendpoint"]
    assert (folder / "pytest_smendpoint" / "serving" / "zygote.py").is_file()
    assert install.plugin_path() == folder  # the second call keeps the link


@pytest.mark.slow
def test_a_runtimes_zygote_writes_its_bytecode_beside_the_plugins_link() -> None:
    from pytest_smendpoint.serving import forking
    from pytest_smendpoint.serving.model_process import inherited_environment
    from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy, choose

    runtime = choose(
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3",
        RuntimePolicy(),
    )
    zygote = forking.shared_zygote(runtime.python, inherited_environment(), runtime.plugin_path)
    assert zygote is not None
    prefix = zygote.environment["PYTHONPYCACHEPREFIX"]
    assert prefix == runtime.plugin_path[0] + "-pycache"
    assert list(Path(prefix).rglob("zygote.cpython-312.pyc"))
