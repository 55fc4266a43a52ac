"""A name the user gives (--sm-endpoint-name, --sm-model-name) that already exists in the account
and was not created by this session is refused before anything is created, in SageMaker's own
words, and never deleted: a moto server would otherwise overwrite it, and teardown delete it."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.aws_path import ROLE, MotoServer, aws_args, create_endpoint, snapshot

ARN = "arn:aws:sagemaker:us-east-1:123456789012"
CHECKED = (
    " (Checked before creating anything: pytest-smendpoint neither takes over nor deletes what "
    "it did not create; choose another name, or use --sm-existing-endpoint to test an endpoint "
    "as it is)"
)
TESTS = "def test_deployed(sm_endpoint):\n    pass\n"


def create_lonely_config(server: MotoServer, name: str) -> None:
    """An endpoint config with no endpoint of the same name (and its model)."""
    sm = server.client("sagemaker")
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "registry/inference:1", "ModelDataUrl": "s3://b/m.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )


CASES = [
    pytest.param(
        ("--sm-endpoint-name=taken",),
        "CreateEndpoint failed for endpoint taken: ValidationException: Cannot create already "
        f'existing endpoint "{ARN}:endpoint/taken".' + CHECKED,
        id="endpoint",
    ),
    pytest.param(
        ("--sm-endpoint-name=lonely",),
        "CreateEndpointConfig failed for endpoint config lonely: ValidationException: Cannot "
        f'create already existing endpoint configuration "{ARN}:endpoint-config/lonely".' + CHECKED,
        id="endpoint-config",
    ),
    pytest.param(
        ("--sm-model-name=taken-model",),
        "CreateModel failed for model taken-model: ValidationException: Cannot create already "
        f'existing model "{ARN}:model/taken-model".' + CHECKED,
        id="model",
    ),
]


@pytest.fixture
def occupied(moto_server: MotoServer) -> dict[str, Any]:
    """An account holding someone else's endpoint `taken` and config `lonely`: a snapshot."""
    create_endpoint(moto_server, "taken")
    create_lonely_config(moto_server, "lonely")
    return snapshot(moto_server)


@pytest.mark.parametrize(("names", "message"), CASES)
def test_an_existing_name_is_refused_and_left_as_it_was(
    pytester: pytest.Pytester,
    moto_server: MotoServer,
    occupied: dict[str, Any],
    names: tuple[str, ...],
    message: str,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*aws_args("--sm-model-data=s3://bucket/model.tar.gz", *names))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"E *pytest_smendpoint.errors.AwsCallError: {message}"])
    assert snapshot(moto_server) == occupied  # nothing created, changed or deleted
    result.stdout.no_fnmatch_line("*deletion of * confirmed*")


@pytest.mark.slow  # pytest -n 2 in a subprocess
def test_an_existing_name_is_refused_under_xdist_and_the_controller_deletes_nothing(
    pytester: pytest.Pytester, moto_server: MotoServer, occupied: dict[str, Any]
) -> None:
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_deployed(sm_endpoint, n):\n    pass\n"
    )
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
        *aws_args("--sm-model-data=s3://bucket/model.tar.gz", "--sm-endpoint-name=taken"),
    )
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(
        [f'*Cannot create already existing endpoint "{ARN}:endpoint/taken".*']
    )
    assert snapshot(moto_server) == occupied


def test_a_generated_name_is_not_looked_up(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    # Only user-given names are checked: generated ones carry the session's unique id.
    pytester.makeconftest(
        """
        import pytest

        CALLS = []

        @pytest.fixture(scope="session", autouse=True)
        def _count(sm_backend):
            # On the plugin's own session (clients copy its handlers): nothing process-wide.
            def count(model, **kwargs):
                CALLS.append(model.name)

            sm_backend.boto_session.events.register("before-call.sagemaker", count)
            yield
            assert CALLS[:3] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"], CALLS
        """
    )
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(*aws_args("--sm-model-data=s3://bucket/model.tar.gz"))
    result.assert_outcomes(passed=1)
