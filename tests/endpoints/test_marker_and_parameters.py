"""`@pytest.mark.sm_endpoint(...)` and indirect parametrization of `sm_endpoint`: one test run
against several configurations, each deployed once per session, real predictions through
`sm_invoke` and `sm_predictor`, and every endpoint deleted at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
DEPLOYED = "*(moto, us-east-1): deployed in *teardown deleted"


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_marker_and_parameters_deploy_once_per_configuration(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, constant_model_dir: Path
) -> None:
    pytester.makepyfile(
        f"""
        import pandas as pd
        import pytest

        ROWS = pd.DataFrame([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
        CONSTANT = {str(constant_model_dir)!r}

        def test_session_endpoint(sm_endpoint, sm_invoke):
            assert sm_endpoint.instance_type == "ml.m5.large"
            assert list(sm_invoke(ROWS)) == [0, 2]

        @pytest.mark.sm_endpoint(model_data=CONSTANT)
        def test_marked(sm_endpoint, sm_invoke):
            assert sm_endpoint.source == "model data " + CONSTANT
            assert list(sm_invoke(ROWS)) == [1, 1]

        @pytest.mark.parametrize(
            "sm_endpoint",
            [None, {{"model_data": CONSTANT}}, {{"instance_type": "ml.c5.xlarge"}}],
            ids=["session", "constant", "c5"],
            indirect=True,
        )
        def test_each(request, sm_endpoint, sm_invoke, sm_endpoint_factory):
            expected = [1, 1] if request.node.callspec.id == "constant" else [0, 2]
            assert list(sm_invoke(ROWS)) == expected
            if request.node.callspec.id == "c5":
                assert sm_endpoint.instance_type == "ml.c5.xlarge"
                assert sm_endpoint is sm_endpoint_factory(instance_type="ml.c5.xlarge")

        @pytest.mark.sm_endpoint(instance_type="ml.c5.xlarge")
        def test_predictor_follows_the_marker(sm_endpoint, sm_predictor):
            assert sm_predictor.endpoint_name == sm_endpoint.name
            assert sm_endpoint.instance_type == "ml.c5.xlarge"

        def test_counts(sm_endpoint, sm_invoke):
            # One sm_invoke counter per endpoint, kept across the switches between them.
            assert sm_invoke.stats.requests == 2
        """
    )
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS, "-v"
    )
    result.assert_outcomes(passed=7)
    for line in (  # pytest orders tests by configuration: checked one by one
        "*::test_marked[[]model_data=*constant*[]] PASSED*",
        "*::test_each[[]c5[]] PASSED*",
        "*::test_predictor_follows_the_marker[[]instance_type=ml.c5.xlarge[]] PASSED*",
    ):
        result.stdout.fnmatch_lines([line])
    summary = [line for line in result.outlines if "teardown deleted" in line]
    assert len(summary) == 3, summary  # session, constant and c5: each deployed once
    assert audit().empty


def test_marked_test_with_its_own_model_needs_no_session_source(
    pytester: pytest.Pytester, audit: Any, constant_model_dir: Path
) -> None:
    pytester.makepyfile(
        f"""
        import pandas as pd
        import pytest

        @pytest.mark.sm_endpoint(model_data={str(constant_model_dir)!r}, image_uri={IMAGE!r},
                                 env={SKLEARN_ENV!r})
        def test_marked(sm_invoke):
            # Two rows: the scikit-learn container decodes one CSV row to a 1-D array.
            rows = pd.DataFrame([[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]])
            assert list(sm_invoke(rows)) == [1, 1]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([DEPLOYED])
    assert audit().empty
