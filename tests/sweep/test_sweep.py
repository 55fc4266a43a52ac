"""The sweep: `pytest --sm-sweep[=AGE] [--sm-sweep-delete]` and `smendpoint-sweep`, against a moto
server on 127.0.0.1 (the aws path), with tagged old, tagged new and untagged resources."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from helpers.aws_path import MotoServer

from pytest_smendpoint.aws import sweep
from pytest_smendpoint.settings.naming import TAG_CREATED, TAG_RUN_LABEL, TAG_SESSION


class RawBody(io.BytesIO):
    """A body botocore can read (urllib3's stream())."""

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Any:
        yield self.read()


ROLE = "arn:aws:iam::123456789012:role/r"
OLD = "2026-01-01T00:00:00+00:00"  # far older than any AGE used here
FAILING_TESTS = "def test_must_not_run():\n    raise AssertionError('the sweep ran tests')\n"


def make(
    server: MotoServer, name: str, tags: list[dict[str, str]], serverless: bool = False
) -> None:
    """A model, an endpoint config and an endpoint named `name`, all with `tags` (on an
    instance, or serverless)."""
    sm = server.client("sagemaker")
    sm.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"}, Tags=tags
    )
    variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": name}
    if serverless:
        variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    else:
        variant.update(InitialInstanceCount=1, InstanceType="ml.m5.large")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], Tags=tags)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)


@pytest.fixture
def account(moto_server: MotoServer) -> MotoServer:
    """Tagged and old, tagged and new, and two that are not the plugin's (one looks old)."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    make(
        moto_server,
        "crashed",
        [
            {"Key": TAG_SESSION, "Value": "20260101-000000-aaaaaa"},
            {"Key": TAG_CREATED, "Value": OLD},
            {"Key": TAG_RUN_LABEL, "Value": "gh-4242"},
        ],
    )
    make(
        moto_server,
        "running",
        [{"Key": TAG_SESSION, "Value": "now-session"}, {"Key": TAG_CREATED, "Value": now}],
    )
    make(moto_server, "production", [])
    make(moto_server, "lookalike", [{"Key": TAG_CREATED, "Value": OLD}])  # no session tag
    return moto_server


def names(server: MotoServer) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    inventory = server.inventory()
    return inventory.endpoints, inventory.configs, inventory.models


ALL = ("crashed", "lookalike", "production", "running")
KEPT = ("lookalike", "production", "running")


def test_sweep_is_a_dry_run_by_default_and_runs_no_tests(
    pytester: pytest.Pytester, account: MotoServer
) -> None:
    pytester.makepyfile(FAILING_TESTS)
    result = pytester.runpytest("--sm-backend=aws", "--sm-sweep")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "smendpoint sweep (aws, us-east-1): 3 older than 6h, would delete (dry run;*",
            "  endpoint crashed (session 20260101-000000-aaaaaa, run gh-4242, *h old)",
            "  endpoint config crashed (session 20260101-000000-aaaaaa, run gh-4242, *h old)",
            "  model crashed (session 20260101-000000-aaaaaa, run gh-4242, *h old)",
        ]
    )
    result.stdout.no_fnmatch_line("*running*")
    result.stdout.no_fnmatch_line("*test_must_not_run*")
    assert names(account) == (ALL, ALL, ALL)


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_sweep_delete_removes_only_old_tagged_resources(
    pytester: pytest.Pytester, account: MotoServer
) -> None:
    pytester.makepyfile(FAILING_TESTS)
    result = pytester.runpytest("--sm-backend=aws", "--sm-sweep=2h", "--sm-sweep-delete")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*3 older than 2h, deleting:", "smendpoint sweep: deleted 3 of 3"])
    assert names(account) == (KEPT, KEPT, KEPT)


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_sweep_delete_removes_an_old_serverless_endpoint_too(
    pytester: pytest.Pytester, account: MotoServer
) -> None:
    tags = [
        {"Key": TAG_SESSION, "Value": "20260101-000000-bbbbbb"},
        {"Key": TAG_CREATED, "Value": OLD},
    ]
    make(account, "crashed-serverless", tags, serverless=True)
    pytester.makepyfile(FAILING_TESTS)
    result = pytester.runpytest("--sm-backend=aws", "--sm-sweep=2h", "--sm-sweep-delete")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*endpoint crashed-serverless (session 20260101-000000-bbbbbb*"])
    result.stdout.fnmatch_lines(["smendpoint sweep: deleted 6 of 6"])
    assert names(account) == (KEPT, KEPT, KEPT)


def test_console_script_sweeps_with_boto3s_own_resolution(account: MotoServer) -> None:
    # AWS_ENDPOINT_URL, credentials and region come from the environment (the moto_server
    # fixture sets them), exactly as boto3 resolves them for a real account.
    # The installed console script (pyproject's [project.scripts]), beside this interpreter.
    script = Path(sys.executable).with_name("smendpoint-sweep")
    assert script.exists(), f"{script} is not installed: reinstall the package"
    listed = subprocess.run(
        [str(script), "--age", "1d"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "3 older than 1d, would delete" in listed.stdout
    assert names(account) == (ALL, ALL, ALL)
    assert sweep.main(["--age", "1d", "--delete", "--region", "us-east-1"]) == 0
    assert names(account) == (KEPT, KEPT, KEPT)
    assert sweep.main(["--age", "1d", "--delete"]) == 0  # nothing left to sweep: still fine


def test_console_script_rejects_a_bad_age(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        sweep.main(["--age", "6x"])
    assert exited.value.code == 2
    assert (
        "error: --age='6x': AGE must be a positive number with s, m, h or d, e.g. 6h"
        in capsys.readouterr().err
    )


def test_pytest_sweep_rejects_a_bad_age(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--sm-sweep=6x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --sm-sweep=6x (command line): AGE must be a positive number with s, m, h or d,*"]
    )


def test_sweep_delete_alone_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--sm-sweep-delete")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --sm-sweep-delete=True (command line): goes with --sm-sweep[[]=AGE[]]"]
    )


def test_sweep_on_the_moto_default_finds_an_empty_account(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--sm-sweep")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["smendpoint sweep (moto, us-east-1): nothing tagged by pytest-smendpoint is older than 6h"]
    )


def test_creation_time_is_the_age_when_the_created_tag_is_missing(
    moto_server: MotoServer,
) -> None:
    make(moto_server, "untimed", [{"Key": TAG_SESSION, "Value": "s"}])
    sm = moto_server.client("sagemaker")
    assert sweep.find_leftovers(sm, 3600) == []
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    found = sweep.find_leftovers(sm, 3600, now=later)
    assert [(f.kind.label, f.name) for f in found] == [
        ("endpoint", "untimed"),
        ("endpoint config", "untimed"),
        ("model", "untimed"),
    ]


def test_every_page_of_a_listing_is_read() -> None:
    sm = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def endpoint(name: str) -> dict[str, Any]:
        return {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}",
            "CreationTime": created,
            "LastModifiedTime": created,
            "EndpointStatus": "InService",
        }

    with Stubber(sm) as stub:
        stub.add_response(
            "list_transform_jobs", {"TransformJobSummaries": []}, {"StatusEquals": "InProgress"}
        )
        stub.add_response("list_endpoints", {"Endpoints": [endpoint("a")], "NextToken": "t"})
        stub.add_response("list_tags", {"Tags": [{"Key": TAG_SESSION, "Value": "s"}]})
        stub.add_response("list_endpoints", {"Endpoints": [endpoint("b")]}, {"NextToken": "t"})
        stub.add_response("list_tags", {"Tags": [{"Key": TAG_SESSION, "Value": "s"}]})
        stub.add_response("list_endpoint_configs", {"EndpointConfigs": []})
        stub.add_response("list_models", {"Models": []})
        found = sweep.find_leftovers(sm, 60, now=created + timedelta(days=1))
    assert [f.name for f in found] == ["a", "b"]


def test_a_failed_delete_makes_the_sweep_exit_non_zero(account: MotoServer) -> None:
    sm = account.client("sagemaker")

    def refuse(request: Any, **kwargs: Any) -> AWSResponse:
        body = b'{"__type": "AccessDeniedException", "message": "not allowed"}'
        return AWSResponse(request.url, 400, {}, RawBody(body))

    sm.meta.events.register_first("before-send.sagemaker.DeleteEndpoint", refuse)
    lines: list[str] = []
    assert sweep.run_sweep(sm, 3600, delete=True, where="test", write=lines.append) == 1
    assert lines[-2:] == [
        "  could not delete endpoint crashed: AccessDeniedException: not allowed",
        "smendpoint sweep: deleted 2 of 3",
    ]
    inventory = account.inventory()
    assert "crashed" in inventory.endpoints and "crashed" not in inventory.models


@pytest.mark.parametrize(
    ("args", "env", "label"),
    [
        (["--sm-run-label=nightly 42"], {}, "nightly 42"),
        ([], {"GITHUB_RUN_ID": "987654"}, "987654"),
        ([], {}, None),
    ],
    ids=["option", "github-run-id", "none"],
)
@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_everything_created_carries_session_created_and_run_label_tags(
    pytester: pytest.Pytester,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    label: str | None,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(
        f"""
        def test_tags(sm_endpoint, sm_boto_session):
            sm = sm_boto_session.client("sagemaker")
            arns = [
                sm.describe_endpoint(EndpointName=sm_endpoint.name)["EndpointArn"],
                sm.describe_endpoint_config(
                    EndpointConfigName=sm_endpoint.config_name)["EndpointConfigArn"],
                sm.describe_model(ModelName=sm_endpoint.model_names[0])["ModelArn"],
            ]
            for arn in arns:
                tags = {{t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}}
                assert tags["{TAG_SESSION}"] in sm_endpoint.name
                assert tags["{TAG_CREATED}"].endswith("+00:00")
                assert tags.get("{TAG_RUN_LABEL}") == {label!r}
        """
    )
    result = pytester.runpytest(
        "--sm-backend=aws",
        "--sm-image-uri=img:1",
        f"--sm-role={ROLE}",
        "--sm-model-data=s3://bucket/model.tar.gz",
        *args,
    )
    result.assert_outcomes(passed=1)


def test_sweep_lists_and_deletes_old_uploads_under_the_plugins_prefix_only(
    moto_server: MotoServer,
) -> None:
    s3 = moto_server.client("s3")
    bucket = "sagemaker-us-east-1-123456789012"
    s3.create_bucket(Bucket=bucket)
    keys = ["pytest-smendpoint/20260101-000000-abcdef/model.tar.gz", "users/own/model.tar.gz"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    storage = sweep.UploadStorage(s3, moto_server.client("sts"), "us-east-1")
    later = datetime.now(timezone.utc) + timedelta(days=1)
    sm = moto_server.client("sagemaker")
    lines: list[str] = []
    assert (
        sweep.run_sweep(
            sm, 3600, delete=False, where="test", write=lines.append, now=later, storage=storage
        )
        == 0
    )
    assert lines[0] == (
        "smendpoint sweep (test): 1 older than 1h, would delete (dry run; add "
        "--sm-sweep-delete / --delete):"
    )
    assert lines[1].startswith(f"  upload s3://{bucket}/{keys[0]} (")
    lines.clear()
    assert (
        sweep.run_sweep(
            sm, 3600, delete=True, where="test", write=lines.append, now=later, storage=storage
        )
        == 0
    )
    assert lines[-1] == "smendpoint sweep: deleted 1 of 1"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [keys[1]]


def test_sweep_without_s3_permissions_says_so_and_still_sweeps_resources() -> None:
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    sts = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    sm = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(s3) as s3_stub, Stubber(sts) as sts_stub, Stubber(sm) as sm_stub:
        sts_stub.add_response("get_caller_identity", {"Account": "123456789012"})
        s3_stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
        for operation, key in (
            ("list_transform_jobs", "TransformJobSummaries"),
            ("list_endpoints", "Endpoints"),
            ("list_endpoint_configs", "EndpointConfigs"),
            ("list_models", "Models"),
        ):
            sm_stub.add_response(operation, {key: []})
        lines: list[str] = []
        storage = sweep.UploadStorage(s3, sts, "us-east-1")
        code = sweep.run_sweep(
            sm, 3600, delete=True, where="test", write=lines.append, storage=storage
        )
    assert code == 0
    assert lines == [
        "smendpoint sweep (test): uploads under s3 not listed: AccessDenied: Access Denied",
        "smendpoint sweep (test): nothing tagged by pytest-smendpoint is older than 1h",
    ]


def test_a_killed_sessions_asynchronous_requests_are_swept_as_its_uploads(
    moto_server: MotoServer,
) -> None:
    """Inputs, outputs and failure objects of asynchronous requests live under the session's
    prefix (the default S3OutputPath and S3FailurePath too): the sweep finds them by age."""
    s3 = moto_server.client("s3")
    bucket = "sagemaker-us-east-1-123456789012"
    s3.create_bucket(Bucket=bucket)
    base = "pytest-smendpoint/20260101-000000-abcdef/async/pytest-sm-20260101-000000-abcdef"
    keys = [f"{base}/input/0a1b.csv", f"{base}/output/r1.out", f"{base}/failures/r2-error.out"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    storage = sweep.UploadStorage(s3, moto_server.client("sts"), "us-east-1")
    later = datetime.now(timezone.utc) + timedelta(days=1)
    lines: list[str] = []
    sm = moto_server.client("sagemaker")
    assert (
        sweep.run_sweep(
            sm, 3600, delete=True, where="test", write=lines.append, now=later, storage=storage
        )
        == 0
    )
    assert lines[-1] == "smendpoint sweep: deleted 3 of 3"
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
