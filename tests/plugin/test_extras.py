"""A feature whose extra is not installed fails with the exact command that installs it."""

from __future__ import annotations

import sys

import pytest

from pytest_smendpoint.aws.records import EndpointRecord
from pytest_smendpoint.endpoints.predictors import make_predictor
from pytest_smendpoint.extras import MissingExtraError, missing


def test_sm_predictor_without_the_sdk_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "sagemaker" or m.startswith("sagemaker.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sagemaker", None)  # as if it were not installed
    record = EndpointRecord("ep", "ep", ("m",), "us-east-1", "moto", 0.0, owned=True)
    with pytest.raises(MissingExtraError) as raised:
        make_predictor(record, None)
    assert str(raised.value) == (
        "sm_predictor needs the SageMaker Python SDK: "
        'pip install "pytest-smendpoint[sdk2]" or pip install "pytest-smendpoint[sdk3]" '
        "(v2 Predictor or v3 Endpoint); sm_invoke and sm_endpoint work without it"
    )


def test_xdist_on_moto_without_the_server_extra_stops_at_start_up(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest("import sys\nsys.modules['flask'] = None  # not installed\n")
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest -n with the moto backend (a shared moto server) needs flask, which "
            'is not installed: pip install "pytest-smendpoint[xdist]"'
        ]
    )


def test_missing_tells_installed_from_absent_without_importing() -> None:
    assert missing("json", "surely_not_a_module_here") == ["surely_not_a_module_here"]
