"""What a user sees of the settings: `pytest --help`, the report header, and `-p no:smendpoint`."""

from __future__ import annotations

import re

import pytest

from pytest_smendpoint.settings.options import OPTIONS

GROUP_TITLE = "SageMaker endpoint testing (pytest-smendpoint):"
# Every option, the switch that turns keep_endpoint off, and the deprecated old spellings.
# Every option, the `--sm-no-` form of each flag, and the deprecated --sm-label.
FLAGS = {spec.flag for spec in OPTIONS} | {"--sm-label"}
FLAGS |= {spec.flag.replace("--sm-", "--sm-no-") for spec in OPTIONS if spec.kind == "bool"}


def help_sections(lines: list[str]) -> dict[str, list[str]]:
    """`pytest --help` cut at its section titles (unindented lines ending with a colon)."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in lines:
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = line.rstrip()
            sections[current] = []
        else:
            sections.setdefault(current, []).append(line)
    return sections


def option_names(lines: list[str]) -> set[str]:
    """The options a help section declares (the first word of each option line)."""
    return {m.group(1) for line in lines if (m := re.match(r"  (--sm-[a-z0-9-]+)", line))}


def test_help_lists_every_option_in_a_group_of_its_own(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == pytest.ExitCode.OK
    sections = help_sections(result.stdout.lines)
    assert GROUP_TITLE in sections
    assert option_names(sections[GROUP_TITLE]) == FLAGS
    group_text = "\n".join(sections[GROUP_TITLE])
    assert not re.search(r"^  --(?!sm-)", group_text, re.MULTILINE)  # nobody else's options
    elsewhere = [line for title, body in sections.items() if title != GROUP_TITLE for line in body]
    assert not option_names(elsewhere)


def test_help_lists_every_ini_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines_random([f"  {spec.ini} (*):*" for spec in OPTIONS])


@pytest.mark.parametrize(
    ("args", "header"),
    [
        pytest.param(
            (),
            "smendpoint: backend=moto, region=boto3's default, else us-east-1, "
            "model=from the sm_model fixture, instances=ml.m5.large x 1",
            id="defaults",
        ),
        pytest.param(
            ("--sm-backend=aws",),
            "smendpoint: backend=aws, region=boto3's default, "
            "model=from the sm_model fixture, instances=ml.m5.large x 1",
            id="aws-default-region",
        ),
        pytest.param(
            (
                "--sm-backend=aws",
                "--sm-region=eu-west-1",
                "--sm-training-job=job-1",
                "--sm-instance-type=ml.c5.xlarge",
                "--sm-instance-count=2",
            ),
            "smendpoint: backend=aws, region=eu-west-1, model=training job job-1, "
            "instances=ml.c5.xlarge x 2",
            id="training-job",
        ),
        pytest.param(
            ("--sm-existing-endpoint=live",),
            "smendpoint: backend=moto, region=boto3's default, else us-east-1, "
            "model=existing endpoint live, instances=ml.m5.large x 1",
            id="existing-endpoint",
        ),
        pytest.param(
            (
                "--sm-model-data=s3://bucket/model.tar.gz",
                "--sm-image-uri=registry/inference:1",
                "--sm-region=us-west-2",
            ),
            "smendpoint: backend=moto, region=us-west-2, "
            "model=model data s3://bucket/model.tar.gz, instances=ml.m5.large x 1",
            id="model-data",
        ),
    ],
)
def test_report_header_shows_backend_region_model_and_instances(
    pytester: pytest.Pytester, args: tuple[str, ...], header: str
) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    assert header in result.stdout.lines


def test_report_header_shows_ini_settings(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nsm_region = ap-southeast-2\nsm_existing_endpoint = shared-ep\n"
        "sm_instance_count = 3\n"
    )
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest()
    assert (
        "smendpoint: backend=moto, region=ap-southeast-2, model=existing endpoint shared-ep, "
        "instances=ml.m5.large x 3"
    ) in result.stdout.lines


def test_disabled_plugin_does_not_know_its_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:smendpoint", "--sm-backend=moto")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*error: unrecognized arguments: --sm-backend=moto*"])


def test_disabled_plugin_has_no_fixtures_header_or_validation(pytester: pytest.Pytester) -> None:
    # Even a bad ini value goes unnoticed: nothing of the plugin runs.
    pytester.makeini("[pytest]\nsm_instance_count = 0\n")
    pytester.makepyfile(
        """
        def test_plain():
            pass

        def test_settings(sm_settings):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:smendpoint")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'sm_settings' not found*"])
    result.stdout.no_fnmatch_line("smendpoint: *")
    assert "--sm-backend" not in pytester.runpytest("-p", "no:smendpoint", "--help").stdout.str()
