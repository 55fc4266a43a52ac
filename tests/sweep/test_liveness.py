"""A sweep never deletes a live session: a running session's resources carry a liveness mark it
renews; a sweep skips them whatever their age and says so, and takes a killed session's
resources once the mark lapses. Against a moto server on 127.0.0.1 (the aws path); the clock is
injected (no waiting)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from helpers.aws_path import MotoServer
from test_sweep import OLD, ROLE, make

from pytest_smendpoint.aws import sweep
from pytest_smendpoint.aws.liveness import LEASE, LivenessMark, alive_until
from pytest_smendpoint.settings.naming import TAG_ALIVE_UNTIL, TAG_CREATED, TAG_SESSION

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SESSION = "20261201-120000-abcdef"


class Clock:
    """A settable UTC clock for the liveness mark."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def arns(server: MotoServer, name: str) -> list[str]:
    sm = server.client("sagemaker")
    return [
        sm.describe_endpoint(EndpointName=name)["EndpointArn"],
        sm.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"],
        sm.describe_model(ModelName=name)["ModelArn"],
    ]


def sweep_at(server: MotoServer, now: datetime, delete: bool = True) -> list[str]:
    lines: list[str] = []
    sweep.run_sweep(
        server.client("sagemaker"), 1, delete=delete, where="test", write=lines.append, now=now
    )
    return lines


def test_a_live_session_is_skipped_whatever_its_age_and_taken_once_its_mark_lapses(
    moto_server: MotoServer,
) -> None:
    clock = Clock(T0)
    mark = LivenessMark(clock=clock)
    make(
        moto_server,
        "running",
        [{"Key": TAG_SESSION, "Value": SESSION}, {"Key": TAG_CREATED, "Value": OLD}, mark.tag()],
    )
    sm = moto_server.client("sagemaker")
    for arn in arns(moto_server, "running"):
        mark._held[arn] = sm  # held as the lifecycle holds them, without starting the thread
    assert sweep_at(moto_server, T0 + timedelta(minutes=5)) == [
        "smendpoint sweep (test): nothing to delete older than 1s",
        f"  skipped: session {SESSION} is alive until 2026-12-01T12:10:00+00:00 "
        "(endpoint running, endpoint config running, model running)",
    ]
    clock.now = T0 + timedelta(minutes=9)
    mark.renew()  # the session is still running: its mark moves to 12:19
    lines = sweep_at(moto_server, T0 + timedelta(minutes=15))
    assert lines[-1].startswith(f"  skipped: session {SESSION} is alive until 2026-12-01T12:19")
    assert moto_server.inventory().endpoints == ("running",)
    # Killed: no more renewals. One lease after the last, the sweep takes everything.
    lines = sweep_at(moto_server, T0 + timedelta(minutes=20))
    assert lines[0] == "smendpoint sweep (test): 3 older than 1s, deleting:"
    assert lines[-1] == "smendpoint sweep: deleted 3 of 3"
    assert moto_server.inventory().endpoints == ()


def test_a_dry_run_lists_the_skipped_session_beside_what_it_would_delete(
    moto_server: MotoServer,
) -> None:
    mark = LivenessMark(clock=Clock(T0))
    make(
        moto_server,
        "crashed",
        [{"Key": TAG_SESSION, "Value": "old"}, {"Key": TAG_CREATED, "Value": OLD}],
    )
    make(
        moto_server,
        "running",
        [{"Key": TAG_SESSION, "Value": SESSION}, {"Key": TAG_CREATED, "Value": OLD}, mark.tag()],
    )
    lines = sweep_at(moto_server, T0 + timedelta(minutes=1), delete=False)
    assert lines[0].startswith("smendpoint sweep (test): 3 older than 1s, would delete (dry run")
    assert [line.split(" (")[0] for line in lines[1:4]] == [
        "  endpoint crashed",
        "  endpoint config crashed",
        "  model crashed",
    ]
    assert lines[4] == (
        f"  skipped: session {SESSION} is alive until 2026-12-01T12:10:00+00:00 "
        "(endpoint running, endpoint config running, model running)"
    )


def test_an_upload_of_a_live_session_is_skipped(moto_server: MotoServer) -> None:
    s3 = moto_server.client("s3")
    bucket = "sagemaker-us-east-1-123456789012"
    s3.create_bucket(Bucket=bucket)
    key = f"pytest-smendpoint/{SESSION}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    uploaded = s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    storage = sweep.UploadStorage(s3, moto_server.client("sts"), "us-east-1")
    sm = moto_server.client("sagemaker")
    lines: list[str] = []
    now = uploaded + timedelta(seconds=5)  # its session is creating its model right now
    sweep.run_sweep(sm, 1, delete=True, where="test", write=lines.append, now=now, storage=storage)
    assert lines[-1].startswith(f"  skipped: session {SESSION} is alive until ")
    assert lines[-1].endswith(f"(upload s3://{bucket}/{key})")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    lines.clear()
    later = uploaded + LEASE + timedelta(seconds=1)  # it never created anything: killed
    sweep.run_sweep(
        sm, 1, delete=True, where="test", write=lines.append, now=later, storage=storage
    )
    assert lines[-1] == "smendpoint sweep: deleted 1 of 1"


def test_renewal_drops_a_resource_that_is_gone_and_keeps_one_that_failed_once() -> None:
    # A fake client: moto's server answers AddTags on a deleted resource with a 500 (its
    # backend dereferences None) where SageMaker says ValidationException "Could not find".
    from botocore.exceptions import ClientError

    renewed: list[tuple[str, str]] = []

    class Client:
        def add_tags(self, ResourceArn: str, Tags: list[dict[str, str]]) -> None:
            if ResourceArn.endswith("gone"):
                error = {"Code": "ValidationException", "Message": "Could not find model gone"}
                raise ClientError({"Error": error}, "AddTags")
            if ResourceArn.endswith("throttled"):
                raise ClientError({"Error": {"Code": "ThrottlingException"}}, "AddTags")
            renewed.append((ResourceArn, Tags[0]["Value"]))

    mark = LivenessMark(clock=Clock(T0))
    for name in ("endpoint/live", "model/gone", "model/throttled"):
        mark._held[f"arn:aws:sagemaker:us-east-1:1:{name}"] = Client()
    mark.renew()
    assert renewed == [("arn:aws:sagemaker:us-east-1:1:endpoint/live", "2026-12-01T12:10:00+00:00")]
    assert mark.held == (
        "arn:aws:sagemaker:us-east-1:1:endpoint/live",
        "arn:aws:sagemaker:us-east-1:1:model/throttled",  # tried again next time
    )


def test_the_mark_takes_the_latest_value_when_a_key_repeats() -> None:
    # moto's AddTags appends a tag with the same key where AWS replaces it.
    tags = [
        {"Key": TAG_ALIVE_UNTIL, "Value": "2026-12-01T12:20:00+00:00"},
        {"Key": TAG_ALIVE_UNTIL, "Value": "2026-12-01T12:10:00+00:00"},
        {"Key": TAG_ALIVE_UNTIL, "Value": "not a time"},
    ]
    assert alive_until(tags) == datetime(2026, 12, 1, 12, 20, tzinfo=timezone.utc)


def test_the_renewing_thread_starts_with_the_first_resource_and_stops_at_once() -> None:
    renewed = threading.Event()

    class Client:
        def add_tags(self, **kwargs: Any) -> None:
            renewed.set()

    mark = LivenessMark(interval=0.01)
    assert mark._thread is None  # nothing held: no thread
    mark.hold(Client(), "arn:aws:sagemaker:us-east-1:1:endpoint/x")
    thread = mark._thread
    assert thread is not None and thread.daemon  # never keeps pytest alive
    assert renewed.wait(10)
    mark.stop()
    assert not thread.is_alive()


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_a_sweep_beside_a_running_session_leaves_it_alone(
    pytester: pytest.Pytester, moto_server: MotoServer
) -> None:
    # The sweep runs mid-test, as `--sm-sweep=1s --sm-sweep-delete` in another shell would:
    # with a clock a few seconds on, everything of the session is older than 1s.
    pytester.makepyfile(
        f"""
        import threading
        from datetime import datetime, timedelta, timezone

        from pytest_smendpoint.aws import sweep

        def test_sweep_beside(sm_endpoint, sm_boto_session):
            sm = sm_boto_session.client("sagemaker")
            tags = sm.list_tags(
                ResourceArn=sm.describe_endpoint(EndpointName=sm_endpoint.name)["EndpointArn"]
            )["Tags"]
            assert "{TAG_ALIVE_UNTIL}" in {{t["Key"] for t in tags}}
            assert any(t.name == "smendpoint-liveness" for t in threading.enumerate())
            soon = datetime.now(timezone.utc) + timedelta(seconds=5)
            sweep.run_sweep(sm, 1, delete=True, where="beside", write=print, now=soon)
            assert sm.describe_endpoint(EndpointName=sm_endpoint.name)["EndpointStatus"]
            sm.describe_model(ModelName=sm_endpoint.model_names[0])
        """
    )
    result = pytester.runpytest(
        "--sm-backend=aws",
        "--sm-image-uri=img:1",
        f"--sm-role={ROLE}",
        "--sm-model-data=s3://bucket/model.tar.gz",
        "-s",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "smendpoint sweep (beside): nothing to delete older than 1s",
            "  skipped: session * is alive until * (endpoint pytest-sm-*, endpoint config "
            "pytest-sm-*, model pytest-sm-*)",
        ]
    )
    assert moto_server.inventory().endpoints == ()  # its own teardown deleted it
    assert not any(t.name == "smendpoint-liveness" for t in threading.enumerate())
