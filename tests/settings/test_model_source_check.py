"""A test that needs an endpoint while nothing says which model to deploy stops the run at
collection (exit code 4); a suite that needs no endpoint runs with nothing configured."""

from __future__ import annotations

from collections.abc import Callable

import pytest

UsageErrorCheck = Callable[..., None]

NO_MODEL_SOURCE = (
    "needs an endpoint, but no model source is configured: give --sm-model-data with "
    "--sm-image-uri, --sm-training-job or --sm-existing-endpoint (or the sm_model_data, "
    "sm_training_job, sm_existing_endpoint ini keys), or override the sm_model fixture in a "
    "conftest.py"
)


@pytest.mark.parametrize("fixture", ["sm_model", "sm_endpoint", "sm_predictor", "sm_invoke"])
def test_endpoint_fixture_without_model_source_is_a_usage_error(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck, fixture: str
) -> None:
    pytester.makepyfile(
        test_needs=f"""
        def test_plain():
            pass

        def test_endpoint({fixture}):
            pass
        """
    )
    assert_usage_error(
        pytester.runpytest(),
        f"test_needs.py::test_endpoint {NO_MODEL_SOURCE}",
        at_collection=True,
    )


def test_endpoint_fixture_needed_through_another_fixture_is_caught(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def predictions(sm_invoke):
            return sm_invoke
        """
    )
    pytester.makepyfile(test_indirect="def test_predicts(predictions):\n    pass\n")
    assert_usage_error(
        pytester.runpytest(),
        f"test_indirect.py::test_predicts {NO_MODEL_SOURCE}",
        at_collection=True,
    )


def test_suite_without_plugin_fixtures_runs_with_nothing_configured(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK


def test_sm_settings_alone_needs_no_model_source(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "def test_reads(sm_settings):\n    assert sm_settings.model_source is None\n"
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_conftest_overriding_sm_model_counts_as_a_model_source(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def sm_model():
            return "my model"
        """
    )
    pytester.makepyfile(
        "def test_model(sm_model, sm_settings):\n"
        "    assert sm_model == 'my model'\n"
        "    assert sm_settings.model_source is None\n"
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "source",
    [
        "--sm-training-job=job-1",
        "--sm-existing-endpoint=live",
        "--sm-model-data=s3://bucket/model.tar.gz",
    ],
)
def test_configured_model_source_passes_the_collection_check(
    pytester: pytest.Pytester, source: str
) -> None:
    # --collect-only: the check runs, no fixture (and so no backend) is set up.
    pytester.makepyfile("def test_endpoint(sm_endpoint):\n    pass\n")
    result = pytester.runpytest("--collect-only", source, "--sm-image-uri=registry/inference:1")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.stdout.fnmatch_lines(["*<Function test_endpoint>*"])


def test_deselected_endpoint_test_needs_no_model_source(pytester: pytest.Pytester) -> None:
    # `pytest -k "not deployed"` is how a suite runs its unit tests without a model.
    pytester.makepyfile(
        test_suite="""
        def test_plain():
            pass

        def test_deployed(sm_endpoint):
            pass
        """
    )
    result = pytester.runpytest("-k", "not deployed")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.assert_outcomes(passed=1, deselected=1)
