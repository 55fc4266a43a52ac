"""Every setting arrives in `sm_settings` from `--sm-NAME` and from ini `sm_NAME`; the command
line wins over the ini, the ini over the default. In-process runs that only read settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from pytest_smendpoint.settings.options import OPTIONS


@dataclass(frozen=True)
class Case:
    """One setting: the same option given on the command line and in the ini, with the value
    each gives in `sm_settings`; `override` is the command line that beats `ini` (and its value)
    when `cli` alone cannot differ from it."""

    name: str
    attribute: str
    cli: tuple[str, ...]
    cli_value: object
    ini: str
    ini_value: object
    context_ini: str = ""
    override: tuple[tuple[str, ...], object] | None = None

    @property
    def override_args(self) -> tuple[str, ...]:
        return self.override[0] if self.override else self.cli

    @property
    def override_value(self) -> object:
        return self.override[1] if self.override else self.cli_value


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/inference"

CASES = (
    Case(
        "backend",
        "sm_settings.backend",
        ("--sm-backend=aws",),
        "aws",
        "sm_backend = aws",
        "aws",
        override=(("--sm-backend=moto",), "moto"),
    ),
    Case(
        "region",
        "sm_settings.region",
        ("--sm-region=eu-west-1",),
        "eu-west-1",
        "sm_region = ap-southeast-2",
        "ap-southeast-2",
    ),
    Case(
        "role",
        "sm_settings.role",
        ("--sm-role=arn:aws:iam::123456789012:role/CliRole",),
        "arn:aws:iam::123456789012:role/CliRole",
        "sm_role = IniRole",
        "IniRole",
    ),
    Case(
        "model_data",
        "sm_settings.model_data",
        ("--sm-model-data=s3://cli-bucket/model.tar.gz",),
        "s3://cli-bucket/model.tar.gz",
        "sm_model_data = s3://ini-bucket/model.tar.gz",
        "s3://ini-bucket/model.tar.gz",
        context_ini=f"sm_image_uri = {IMAGE}:ini",
    ),
    Case(
        "image_uri",
        "sm_settings.image_uri",
        (f"--sm-image-uri={IMAGE}:cli",),
        f"{IMAGE}:cli",
        f"sm_image_uri = {IMAGE}:ini",
        f"{IMAGE}:ini",
    ),
    Case(
        "training_job",
        "sm_settings.training_job",
        ("--sm-training-job=cli-job",),
        "cli-job",
        "sm_training_job = ini-job",
        "ini-job",
    ),
    Case(
        "existing_endpoint",
        "sm_settings.existing_endpoint",
        ("--sm-existing-endpoint=cli-endpoint",),
        "cli-endpoint",
        "sm_existing_endpoint = ini-endpoint",
        "ini-endpoint",
    ),
    Case(
        "endpoint_name",
        "sm_settings.endpoint_name",
        ("--sm-endpoint-name=cli-ep",),
        "cli-ep",
        "sm_endpoint_name = ini-ep",
        "ini-ep",
    ),
    Case(
        "model_name",
        "sm_settings.model_name",
        ("--sm-model-name=cli-model",),
        "cli-model",
        "sm_model_name = ini-model",
        "ini-model",
    ),
    Case(
        "instance_type",
        "sm_settings.instance_type",
        ("--sm-instance-type=ml.c5.xlarge",),
        "ml.c5.xlarge",
        "sm_instance_type = ml.g4dn.xlarge",
        "ml.g4dn.xlarge",
    ),
    Case(
        "instance_count",
        "sm_settings.instance_count",
        ("--sm-instance-count=3",),
        3,
        "sm_instance_count = 2",
        2,
    ),
    Case(
        "env",
        "dict(sm_settings.env)",
        ("--sm-env=A=1", "--sm-env=B=x=y"),
        {"A": "1", "B": "x=y"},
        "sm_env =\n    C=3\n    D=",
        {"C": "3", "D": ""},
    ),
    Case(
        "model_data_download_timeout",
        "sm_settings.model_data_download_timeout",
        ("--sm-model-data-download-timeout=600",),
        600,
        "sm_model_data_download_timeout = 300",
        300,
    ),
    Case(
        "container_startup_health_check_timeout",
        "sm_settings.container_startup_health_check_timeout",
        ("--sm-container-startup-health-check-timeout=120",),
        120,
        "sm_container_startup_health_check_timeout = 60",
        60,
    ),
    Case(
        "deploy_timeout",
        "sm_settings.deploy_timeout",
        ("--sm-deploy-timeout=900",),
        900,
        "sm_deploy_timeout = 60",
        60,
    ),
    Case(
        "keep_endpoint",
        "sm_settings.keep_endpoint",
        ("--sm-keep-endpoint",),
        True,
        "sm_keep_endpoint = true",
        True,
        override=(("--sm-no-keep-endpoint",), False),
    ),
    Case(
        "serve_command",
        "sm_settings.serve_command",
        ("--sm-serve-command=python serve.py --port {port}",),
        "python serve.py --port {port}",
        "sm_serve_command = ./serve {port}",
        "./serve {port}",
    ),
    Case(
        "image_packages",
        "sm_settings.image_packages",
        ("--sm-image-packages=test-env",),
        "test-env",
        "sm_image_packages = test-env",
        "test-env",
        override=(("--sm-image-packages=image",), "image"),
    ),
    Case(
        "image_python",
        "dict(sm_settings.image_pythons)",
        (f"--sm-image-python=3.9={sys.executable}",),
        {"3.9": sys.executable},
        f"sm_image_python = 3.8={sys.executable}",
        {"3.8": sys.executable},
    ),
    Case(
        "label_column",
        "(sm_settings.invoke.label, sm_settings.invoke.label_explicit)",
        ("--sm-label-column=y,z", "--sm-label-column=w"),
        (("y", "z", "w"), True),
        "sm_label_column = target",
        (("target",), True),
    ),
    Case(
        "features",
        "sm_settings.invoke.features",
        ("--sm-features=f1,f2", "--sm-features=f3"),
        ("f1", "f2", "f3"),
        "sm_features = 7",
        7,
    ),
    Case(
        "max_payload_mb",
        "sm_settings.invoke.max_payload_bytes",
        ("--sm-max-payload-mb=2.5",),
        2_500_000,
        "sm_max_payload_mb = 6",
        6_000_000,
    ),
    Case(
        "max_rows_per_request",
        "sm_settings.invoke.max_rows_per_request",
        ("--sm-max-rows-per-request=100",),
        100,
        "sm_max_rows_per_request = 50",
        50,
    ),
    Case(
        "max_concurrency",
        "sm_settings.invoke.max_concurrency",
        ("--sm-max-concurrency=8",),
        8,
        "sm_max_concurrency = 2",
        2,
    ),
    Case(
        "accept",
        "sm_settings.invoke.accept",
        ("--sm-accept=application/json",),
        "application/json",
        "sm_accept = application/jsonlines",
        "application/jsonlines",
    ),
    Case(
        "float32_csv",
        "sm_settings.invoke.float32_csv",
        ("--sm-no-float32-csv",),
        False,
        "sm_float32_csv = false",
        False,
        override=(("--sm-float32-csv",), True),
    ),
    Case(
        "transform_instance_type",
        "sm_settings.transform.instance_type",
        ("--sm-transform-instance-type=ml.c5.xlarge",),
        "ml.c5.xlarge",
        "sm_transform_instance_type = ml.m5.2xlarge",
        "ml.m5.2xlarge",
    ),
    Case(
        "transform_instance_count",
        "sm_settings.transform.instance_count",
        ("--sm-transform-instance-count=3",),
        3,
        "sm_transform_instance_count = 2",
        2,
    ),
    Case(
        "transform_max_concurrent",
        "sm_settings.transform.max_concurrent",
        ("--sm-transform-max-concurrent=4",),
        4,
        "sm_transform_max_concurrent = 2",
        2,
    ),
    Case(
        "transform_max_payload_mb",
        "sm_settings.transform.max_payload_mb",
        ("--sm-transform-max-payload-mb=100",),
        100,
        "sm_transform_max_payload_mb = 0",
        0,
    ),
    Case(
        "transform_batch_strategy",
        "sm_settings.transform.batch_strategy",
        ("--sm-transform-batch-strategy=SingleRecord",),
        "SingleRecord",
        "sm_transform_batch_strategy = SingleRecord",
        "SingleRecord",
        override=(("--sm-transform-batch-strategy=MultiRecord",), "MultiRecord"),
    ),
    Case(
        "transform_invocation_timeout",
        "sm_settings.transform.invocation_timeout",
        ("--sm-transform-invocation-timeout=3600",),
        3600,
        "sm_transform_invocation_timeout = 1",
        1,
    ),
    Case(
        "transform_invocation_retries",
        "sm_settings.transform.invocation_retries",
        ("--sm-transform-invocation-retries=0",),
        0,
        "sm_transform_invocation_retries = 3",
        3,
    ),
    Case(
        "transform_shards",
        "sm_settings.transform.shards",
        ("--sm-transform-shards=8",),
        8,
        "sm_transform_shards = 16",
        16,
    ),
    Case(
        "transform_output",
        "sm_settings.transform.output_path",
        ("--sm-transform-output=s3://cli-bucket/out",),
        "s3://cli-bucket/out",
        "sm_transform_output = s3://ini-bucket/a/b/",
        "s3://ini-bucket/a/b/",
    ),
    Case(
        "transform_timeout",
        "sm_settings.transform.timeout",
        ("--sm-transform-timeout=60",),
        60,
        "sm_transform_timeout = 7200",
        7200,
    ),
    Case(
        "transform_keep_data",
        "sm_settings.transform.keep_data",
        ("--sm-transform-keep-data",),
        True,
        "sm_transform_keep_data = true",
        True,
        override=(("--sm-no-transform-keep-data",), False),
    ),
    Case(
        "serverless_memory_mb",
        "sm_settings.serverless.memory_mb",
        ("--sm-serverless-memory-mb=2048",),
        2048,
        "sm_serverless_memory_mb = 6144",
        6144,
    ),
    Case(
        "serverless_max_concurrency",
        "sm_settings.serverless.max_concurrency",
        ("--sm-serverless-max-concurrency=20",),
        20,
        "sm_serverless_max_concurrency = 200",
        200,
        context_ini="sm_serverless_memory_mb = 1024",
    ),
    Case(
        "serverless_provisioned_concurrency",
        "sm_settings.serverless.provisioned_concurrency",
        ("--sm-serverless-provisioned-concurrency=2",),
        2,
        "sm_serverless_provisioned_concurrency = 4",
        4,
        context_ini="sm_serverless_memory_mb = 1024",
    ),
    Case(
        "async",
        "sm_settings.async_inference.enabled",
        ("--sm-async",),
        True,
        "sm_async = true",
        True,
        override=(("--sm-no-async",), False),
    ),
    Case(
        "async_output_path",
        "sm_settings.async_inference.output_path",
        ("--sm-async-output-path=s3://bucket/out",),
        "s3://bucket/out",
        "sm_async_output_path = s3://bucket/ini-out",
        "s3://bucket/ini-out",
    ),
    Case(
        "async_failure_path",
        "sm_settings.async_inference.failure_path",
        ("--sm-async-failure-path=s3://bucket/failed",),
        "s3://bucket/failed",
        "sm_async_failure_path = s3://bucket/ini-failed",
        "s3://bucket/ini-failed",
        context_ini="sm_async = true",
    ),
    Case(
        "async_max_concurrent_invocations",
        "sm_settings.async_inference.max_concurrent_invocations_per_instance",
        ("--sm-async-max-concurrent-invocations=4",),
        4,
        "sm_async_max_concurrent_invocations = 8",
        8,
        context_ini="sm_async = true",
    ),
    Case(
        "async_invocation_timeout",
        "sm_settings.async_inference.invocation_timeout",
        ("--sm-async-invocation-timeout=120",),
        120,
        "sm_async_invocation_timeout = 3600",
        3600,
        context_ini="sm_async = true",
    ),
    Case(
        "run_label",
        "sm_settings.run_label",
        ("--sm-run-label=nightly 42",),
        "nightly 42",
        "sm_run_label = release-7",
        "release-7",
    ),
    Case(
        "baseline_endpoint",
        "sm_settings.baseline_endpoint",
        ("--sm-baseline-endpoint=prod-v1",),
        "prod-v1",
        "sm_baseline_endpoint = prod-v0",
        "prod-v0",
    ),
    Case(
        "report",
        "sm_settings.report_path.rsplit('/', 1)[-1]",
        ("--sm-report=cli.json",),
        "cli.json",
        "sm_report = ini.json",
        "ini.json",
    ),
    Case(
        "summary_md",
        "sm_settings.summary_md_path.rsplit('/', 1)[-1]",
        ("--sm-summary-md=cli.md",),
        "cli.md",
        "sm_summary_md = ini.md",
        "ini.md",
    ),
    Case(
        "report_html",
        "sm_settings.report_html_path.rsplit('/', 1)[-1]",
        ("--sm-report-html=cli.html",),
        "cli.html",
        "sm_report_html = ini.html",
        "ini.html",
    ),
    Case(
        "gate",
        "[str(g) for g in sm_settings.gates]",
        ("--sm-gate=auc>=0.92", "--sm-gate", " p99_ms <= 200 "),
        ["auc>=0.92", "p99_ms <= 200"],  # as written, but for surrounding whitespace
        "sm_gate =\n    accuracy>0.9",
        ["accuracy>0.9"],
    ),
)
CASE_IDS = [case.name for case in CASES]
# --sm-sweep runs the sweep instead of the tests, so the probe cannot read it; the sweep's own
# tests (tests/sweep) pin both options.
SWEEP_OPTIONS = {"sweep", "sweep_delete"}

PROBE = """
def test_setting(sm_settings):
    value = {attribute}
    assert value == {expected!r}, value
"""


def run_probe(
    pytester: pytest.Pytester, attribute: str, expected: object, ini: str, *args: str
) -> pytest.RunResult:
    """Run one test that asserts `attribute` of sm_settings equals `expected`."""
    pytester.makeini("[pytest]\n" + ini + "\n")
    pytester.makepyfile(PROBE.format(attribute=attribute, expected=expected))
    return pytester.runpytest(*args)


def test_the_table_covers_every_option() -> None:
    assert sorted(CASE_IDS) == sorted(
        spec.name for spec in OPTIONS if spec.name not in SWEEP_OPTIONS
    )


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_option_from_command_line_reaches_sm_settings(
    pytester: pytest.Pytester, case: Case
) -> None:
    result = run_probe(pytester, case.attribute, case.cli_value, case.context_ini, *case.cli)
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_option_from_ini_reaches_sm_settings(pytester: pytest.Pytester, case: Case) -> None:
    ini = "\n".join(filter(None, (case.context_ini, case.ini)))
    result = run_probe(pytester, case.attribute, case.ini_value, ini)
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_command_line_overrides_ini(pytester: pytest.Pytester, case: Case) -> None:
    assert case.override_value != case.ini_value  # else this case could not fail
    ini = "\n".join(filter(None, (case.context_ini, case.ini)))
    result = run_probe(pytester, case.attribute, case.override_value, ini, *case.override_args)
    result.assert_outcomes(passed=1)


def test_keep_endpoint_flag_overrides_ini_false(pytester: pytest.Pytester) -> None:
    result = run_probe(
        pytester,
        "sm_settings.keep_endpoint",
        True,
        "sm_keep_endpoint = false",
        "--sm-keep-endpoint",
    )
    result.assert_outcomes(passed=1)


def test_defaults_with_nothing_configured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_defaults(sm_settings):
            assert sm_settings.backend == "moto"
            assert sm_settings.region is None
            assert sm_settings.role is None
            assert sm_settings.model_source is None
            assert sm_settings.image_uri is None
            assert sm_settings.endpoint_name is None
            assert sm_settings.model_name is None
            assert sm_settings.instance_type == "ml.m5.large"
            assert sm_settings.instance_count == 1
            assert dict(sm_settings.env) == {}
            assert sm_settings.model_data_download_timeout is None
            assert sm_settings.container_startup_health_check_timeout is None
            assert sm_settings.deploy_timeout == 1800
            assert sm_settings.keep_endpoint is False
            assert sm_settings.serve_command is None
            invoke = sm_settings.invoke
            assert invoke.label == ("label",)
            assert invoke.label_explicit is False
            assert invoke.features is None
            assert invoke.max_payload_bytes == 2_500_000
            assert invoke.max_rows_per_request is None
            assert invoke.max_concurrency == 4
            assert invoke.accept == "text/csv"
            assert invoke.float32_csv is True
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_sm_settings_is_frozen(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import dataclasses, pytest

        def test_frozen(sm_settings):
            with pytest.raises(dataclasses.FrozenInstanceError):
                sm_settings.instance_count = 5
            with pytest.raises(TypeError):
                sm_settings.env["A"] = "1"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_command_line_model_source_replaces_the_ini_source(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsm_training_job = ini-job\n")
    pytester.makepyfile(
        """
        def test_source(sm_settings):
            assert sm_settings.training_job is None
            assert sm_settings.model_data == "s3://cli-bucket/model.tar.gz"
            assert sm_settings.model_source == "model data s3://cli-bucket/model.tar.gz"
        """
    )
    result = pytester.runpytest(
        "--sm-model-data=s3://cli-bucket/model.tar.gz", f"--sm-image-uri={IMAGE}"
    )
    result.assert_outcomes(passed=1)


def test_command_line_existing_endpoint_drops_an_unusable_ini_model_data(
    pytester: pytest.Pytester,
) -> None:
    # The ini's model data lacks an image and does not exist: neither matters once replaced.
    pytester.makeini("[pytest]\nsm_model_data = nowhere/model.tar.gz\n")
    pytester.makepyfile(
        """
        def test_source(sm_settings):
            assert sm_settings.model_data is None
            assert sm_settings.model_source == "existing endpoint live-ep"
        """
    )
    pytester.runpytest("--sm-existing-endpoint=live-ep").assert_outcomes(passed=1)


@pytest.mark.parametrize("make", ["model.tar.gz", "model.tgz", "model_dir"])
def test_local_model_data_is_resolved_against_the_invocation_directory(
    pytester: pytest.Pytester, make: str
) -> None:
    if make.endswith("_dir"):
        pytester.mkdir(make)
    else:
        (pytester.path / make).write_bytes(b"")
    expected = str(pytester.path / make)
    result = run_probe(
        pytester,
        "sm_settings.model_data",
        expected,
        f"sm_image_uri = {IMAGE}",
        f"--sm-model-data={make}",
    )
    result.assert_outcomes(passed=1)


def test_longest_valid_resource_names_are_accepted(pytester: pytest.Pytester) -> None:
    name = "a-" + "b" * 61  # 63 characters: the most SageMaker allows
    result = run_probe(
        pytester,
        "(sm_settings.endpoint_name, sm_settings.model_name)",
        (name, name),
        "",
        f"--sm-endpoint-name={name}",
        f"--sm-model-name={name}",
    )
    result.assert_outcomes(passed=1)


def test_several_numeric_features_are_column_names_not_a_count(pytester: pytest.Pytester) -> None:
    result = run_probe(
        pytester,
        "sm_settings.invoke.features",
        ("3", "4"),
        "",
        "--sm-features=3",
        "--sm-features=4",
    )
    result.assert_outcomes(passed=1)


def test_relative_model_data_in_the_ini_is_relative_to_the_ini_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(f"[pytest]\nsm_model_data = models/model.tar.gz\nsm_image_uri = {IMAGE}\n")
    (pytester.mkdir("models") / "model.tar.gz").write_bytes(b"")
    expected = str(pytester.path / "models" / "model.tar.gz")
    pytester.mkdir("tests").joinpath("test_probe.py").write_text(
        f"def test_path(sm_settings):\n    assert sm_settings.model_data == {expected!r}\n"
    )
    monkeypatch.chdir(pytester.path / "tests")
    pytester.runpytest().assert_outcomes(passed=1)


def test_relative_model_data_on_the_command_line_is_relative_to_the_cwd(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(f"[pytest]\nsm_image_uri = {IMAGE}\n")
    tests = pytester.mkdir("tests")
    (tests / "model.tar.gz").write_bytes(b"")
    expected = str(tests / "model.tar.gz")
    tests.joinpath("test_probe.py").write_text(
        f"def test_path(sm_settings):\n    assert sm_settings.model_data == {expected!r}\n"
    )
    monkeypatch.chdir(tests)
    pytester.runpytest("--sm-model-data=model.tar.gz").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "ini", "warning"),
    [
        (("--sm-label=y",), "", "--sm-label is deprecated: use --sm-label-column"),
        ((), "sm_label = y", "sm_label is deprecated: use sm_label_column"),
    ],
    ids=["command line", "ini"],
)
def test_old_label_spelling_still_works_with_a_deprecation_warning(
    pytester: pytest.Pytester, args: tuple[str, ...], ini: str, warning: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(
        "def test_label(sm_settings):\n"
        "    assert sm_settings.invoke.label == ('y',) and sm_settings.invoke.label_explicit\n"
    )
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([f"*PytestDeprecationWarning: {warning}"])


def test_new_label_spelling_beats_the_old_one_from_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsm_label = old\nsm_label_column = new\n")
    pytester.makepyfile(
        "def test_label(sm_settings):\n    assert sm_settings.invoke.label == ('new',)\n"
    )
    pytester.runpytest().assert_outcomes(passed=1, warnings=1)
