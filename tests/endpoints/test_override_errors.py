"""Bad endpoint overrides: the factory raises the options' own messages at call time, and a
marker or indirect parameter stops the run at start-up (usage error, exit 4), before any deploy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_smendpoint.endpoints.factory import EndpointFactory
from pytest_smendpoint.endpoints.overrides import OverrideError
from pytest_smendpoint.settings.options import Settings

KNOWN = (
    "known: model, model_data, training_job, existing_endpoint, image_uri, role, env, "
    "endpoint_name, model_name, instance_type, instance_count, model_data_download_timeout, "
    "container_startup_health_check_timeout, deploy_timeout, endpoint_kind, "
    "serverless_inference_config, "
    "serverless_memory_mb, serverless_max_concurrency, serverless_provisioned_concurrency, "
    "async_inference, async_output_path, async_failure_path, async_max_concurrent_invocations, "
    "async_invocation_timeout, async_inference_config"
)
NAME_RULE = (
    "breaks SageMaker's naming rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ "
    "(letters, digits and hyphens, at most 63)"
)


def never_opened(config: object) -> object:
    raise AssertionError("a bad override must not reach a deploy")


@pytest.fixture
def factory(tmp_path: Path) -> EndpointFactory:
    return EndpointFactory(
        Settings(image_uri="123.dkr.ecr.us-east-1.amazonaws.com/img:1"),
        never_opened,  # type: ignore[arg-type]
        name_base="ep",
        base_dir=tmp_path,
    )


def test_unknown_override_names_are_a_type_error_naming_them(factory: EndpointFactory) -> None:
    with pytest.raises(TypeError) as caught:
        factory(colour="red", instance_typ="ml.c5.xlarge")
    assert str(caught.value) == (
        f"sm_endpoint_factory got unknown overrides colour, instance_typ; {KNOWN}"
    )
    with pytest.raises(TypeError, match=r"^sm_endpoint_factory got unknown override size; "):
        factory.many([{"instance_count": 2}, {"size": 3}])


F = "(sm_endpoint_factory)"
SECONDS = "must be between 60 and 3600 seconds (SageMaker's range)"
BAD_VALUES = [
    ({"instance_count": 0}, f"instance_count=0 {F}: must be a positive integer"),
    ({"instance_count": "two"}, f"instance_count='two' {F}: must be a positive integer"),
    (
        {"instance_type": "m5.large"},
        f"instance_type='m5.large' {F}: must be a SageMaker instance type such as ml.m5.large",
    ),
    ({"endpoint_name": "my_endpoint"}, f"endpoint_name='my_endpoint' {F}: {NAME_RULE}"),
    ({"model_name": "-x"}, f"model_name='-x' {F}: {NAME_RULE}"),
    ({"existing_endpoint": "a b"}, f"existing_endpoint='a b' {F}: {NAME_RULE}"),
    (
        {"role": "not a role"},
        f"role='not a role' {F}: is neither an IAM role ARN nor a valid role name",
    ),
    (  # keys are shown, values never (they are often secrets)
        {"env": {"OK": "hunter2", "1X": "sk-live-1"}},
        f"env=['OK=***', '1X=***'] {F}: entry 2: '1X' is not a valid variable name "
        "(letters, digits and _, not starting with a digit)",
    ),
    (
        {"env": "A=hunter2"},
        f"env=<str, not shown> {F}: must be a mapping of variable names to values",
    ),
    ({"instance_count": True}, f"instance_count=True {F}: must be a positive integer"),
    ({"instance_count": 2.5}, f"instance_count=2.5 {F}: must be a positive integer"),
    ({"deploy_timeout": 2.5}, f"deploy_timeout=2.5 {F}: must be a positive integer"),
    (
        {"instance_type": "ml."},
        f"instance_type='ml.' {F}: must be a SageMaker instance type such as ml.m5.large",
    ),
    ({"model_data_download_timeout": 30}, f"model_data_download_timeout=30 {F}: {SECONDS}"),
    (
        {"container_startup_health_check_timeout": 4000},
        f"container_startup_health_check_timeout=4000 {F}: {SECONDS}",
    ),
    ({"deploy_timeout": -1}, f"deploy_timeout=-1 {F}: must be a positive integer"),
    ({"model_data": "s3://b"}, f"model_data='s3://b' {F}: is not an s3://bucket/key URI"),
    (
        {"model_data": "model.zip"},
        f"model_data='model.zip' {F}: no such file or folder: {{tmp}}/model.zip",
    ),
    (
        {"model_data": "s3://bucket/m.tar.gz", "training_job": "job"},
        f"model_data and training_job are both given {F}: choose one model source",
    ),
    (
        {"model": object(), "model_data": "s3://bucket/m.tar.gz", "existing_endpoint": "prod"},
        f"model and model_data and existing_endpoint are all given {F}: choose one model source",
    ),
    ({"image_uri": " "}, f"image_uri=' ' {F}: must not be empty"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_VALUES)
def test_bad_values_get_the_options_own_messages(
    factory: EndpointFactory, tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(OverrideError) as caught:
        factory(**overrides)
    assert str(caught.value) == message.replace("{tmp}", str(tmp_path))
    assert isinstance(caught.value, ValueError)


def test_model_data_without_any_image_names_the_option(tmp_path: Path) -> None:
    bare = EndpointFactory(Settings(), never_opened, name_base="ep", base_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(OverrideError) as caught:
        bare(model_data="s3://bucket/m.tar.gz")
    assert str(caught.value) == (
        "model_data='s3://bucket/m.tar.gz' (sm_endpoint_factory): "
        "needs --sm-image-uri (or sm_image_uri) as well"
    )


def test_factory_without_a_session_model_asks_for_a_source(factory: EndpointFactory) -> None:
    with pytest.raises(OverrideError) as caught:
        factory(instance_count=2)
    assert str(caught.value) == (
        "sm_endpoint_factory: no model to deploy; give model=, model_data=, training_job= "
        "or existing_endpoint="
    )


def literal(text: str) -> str:
    return re.sub(r"[\[*?]", lambda match: f"[{match.group()}]", text)


@pytest.mark.parametrize(
    ("test_source", "message"),
    [
        (
            "@pytest.mark.sm_endpoint(colour='red')\ndef test_a(sm_endpoint): pass",
            f"test_bad.py::test_a[colour=red]: @pytest.mark.sm_endpoint got unknown override "
            f"colour; {KNOWN}",
        ),
        (
            "@pytest.mark.sm_endpoint(instance_count=0)\ndef test_a(sm_invoke): pass",
            "test_bad.py::test_a[instance_count=0]: instance_count=0 "
            "(@pytest.mark.sm_endpoint): must be a positive integer",
        ),
        (
            "@pytest.mark.sm_endpoint({'instance_count': 2})\ndef test_a(sm_endpoint): pass",
            "test_bad.py::test_a[default]: @pytest.mark.sm_endpoint takes keyword arguments "
            "only, e.g. @pytest.mark.sm_endpoint(instance_type='ml.c5.xlarge')",
        ),
        (
            "@pytest.mark.parametrize('sm_endpoint', [{'instance_type': 'c5'}], indirect=True)\n"
            "def test_a(sm_endpoint): pass",
            "test_bad.py::test_a[sm_endpoint0]: instance_type='c5' (sm_endpoint parameter): "
            "must be a SageMaker instance type such as ml.m5.large",
        ),
        (
            "@pytest.mark.parametrize('sm_endpoint', ['ml.c5.xlarge'], indirect=True)\n"
            "def test_a(sm_endpoint): pass",
            "test_bad.py::test_a[ml.c5.xlarge]: an sm_endpoint parameter is a dict of "
            "overrides (or None for the session's endpoint), not str",
        ),
        (
            "def test_a(sm_baseline_invoke, sm_invoke): pass",
            "test_bad.py::test_a uses sm_baseline_invoke, but no baseline endpoint is "
            "configured: give --sm-baseline-endpoint NAME (or the sm_baseline_endpoint ini "
            "key), the existing endpoint to compare against",
        ),
        (
            "@pytest.mark.sm_endpoint(instance_count=True)\ndef test_a(sm_endpoint): pass",
            "test_bad.py::test_a[instance_count=True]: instance_count=True "
            "(@pytest.mark.sm_endpoint): must be a positive integer",
        ),
        (
            "@pytest.mark.sm_endpoint(instance_count=2.5)\ndef test_a(sm_endpoint): pass",
            "test_bad.py::test_a[instance_count=2.5]: instance_count=2.5 "
            "(@pytest.mark.sm_endpoint): must be a positive integer",
        ),
        (  # the test id shows the environment's keys; no output shows its values
            "@pytest.mark.sm_endpoint(env={'DB_PASSWORD': 'hunter2', 'BAD-KEY': 'sk-live-9'})\n"
            "def test_a(sm_endpoint): pass",
            "test_bad.py::test_a[env=DB_PASSWORD,BAD-KEY]: "
            "env=['DB_PASSWORD=***', 'BAD-KEY=***'] (@pytest.mark.sm_endpoint): entry 2: "
            "'BAD-KEY' is not a valid variable name (letters, digits and _, not starting with "
            "a digit)",
        ),
    ],
    ids=[
        "unknown",
        "bad-value",
        "positional",
        "bad-parameter",
        "not-a-dict",
        "no-baseline",
        "bool-count",
        "fractional-count",
        "env-secret",
    ],
)
def test_bad_markers_and_parameters_stop_the_run_at_start_up(
    pytester: pytest.Pytester, test_source: str, message: str
) -> None:
    pytester.makepyfile(test_bad="import pytest\n\n" + test_source)
    result = pytester.runpytest(
        "--sm-model-data=s3://bucket/model.tar.gz", "--sm-image-uri=img", "-p", "no:randomly"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([literal(f"ERROR: {message}")])
    result.assert_outcomes()  # nothing ran, nothing was deployed
    output = result.stdout.str() + result.stderr.str()
    assert "hunter2" not in output and "sk-live-9" not in output


def test_deselected_tests_are_not_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.sm_endpoint(instance_count=0)
        def test_bad(sm_endpoint): pass

        def test_fine(): pass
        """
    )
    result = pytester.runpytest("-k", "fine")
    result.assert_outcomes(passed=1, deselected=1)
