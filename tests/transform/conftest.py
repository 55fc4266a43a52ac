"""A mocked account with the plugin's own moto serving (`open_account`) for transform jobs, and
real scikit-learn models to run them with (helpers/transform_jobs.py has the rest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.models import build_sklearn_model
from helpers.transform_jobs import BUCKET, Account, names

from pytest_smendpoint import make_settings, open_account


@pytest.fixture
def account() -> Iterator[Account]:
    with open_account(make_settings()) as backend:
        made = Account(backend)
        made.s3.create_bucket(Bucket=BUCKET)
        yield made


@pytest.fixture(scope="session")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sklearn_model(tmp_path_factory.mktemp("transform-model"))


@pytest.fixture
def scripted_model(tmp_path: Path) -> Callable[[str], Path]:
    """A model folder whose code/inference.py is `script`."""

    def build(script: str) -> Path:
        return build_sklearn_model(tmp_path / f"model-{next(names)}", inference_script=script)

    return build
