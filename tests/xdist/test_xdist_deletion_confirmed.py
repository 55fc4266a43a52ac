"""Under pytest-xdist the controller deletes what the workers deployed, and says that the
deletion is confirmed, as a single process does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS, SKLEARN_IMAGE

pytestmark = pytest.mark.slow  # pytest -n 2 subprocess runs
TESTS = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_endpoint(sm_endpoint, n):
    pass
"""
CONFIRMED = (
    "smendpoint: deletion of pytest-sm-* confirmed (DescribeEndpoint: not found or Deleting)"
)


def test_controller_confirms_the_deletion_on_aws(
    pytester: pytest.Pytester, moto_server: Any
) -> None:
    pytester.makepyfile(test_shared=TESTS)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--sm-backend=aws",
        "--sm-model-data=s3://bucket/model.tar.gz", f"--sm-image-uri={SKLEARN_IMAGE}",
        "--sm-role=arn:aws:iam::123456789012:role/r", "--sm-report=report.json",
    )  # fmt: skip
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([CONFIRMED])
    assert len([line for line in result.stdout.lines if "confirmed" in line]) == 1
    assert '"deletion_confirmed": true' in (pytester.path / "report.json").read_text()
    assert moto_server.inventory().empty


def test_controller_confirms_the_deletion_on_the_shared_moto_server(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(test_shared=TESTS)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}", *SKLEARN_ENV_ARGS,
    )  # fmt: skip
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([CONFIRMED])
    assert len([line for line in result.stdout.lines if "confirmed" in line]) == 1
