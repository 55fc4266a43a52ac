"""Deploy progress: rewritten in place on a TTY, plain periodic lines in CI logs, driven by the
real polling loop against botocore's Stubber (moto is InService at the first poll)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from helpers.fake_clock import FakeClock

from pytest_smendpoint.aws.waiting import Backoff, wait_in_service
from pytest_smendpoint.errors import DeployError
from pytest_smendpoint.reporting.progress import DeployProgress


class FakeTerminal:
    """Records what pytest's TerminalReporter would have been asked to write."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def ensure_newline(self) -> None:
        self.calls.append(("ensure_newline", ""))

    def rewrite(self, line: str, **markup: bool) -> None:
        assert markup == {"erase": True}
        self.calls.append(("rewrite", line))

    def write(self, content: str, **markup: bool) -> None:
        self.calls.append(("write", content))

    def write_line(self, line: str, **markup: bool) -> None:
        self.calls.append(("write_line", line))

    @property
    def screen(self) -> str:
        """What a terminal shows: \\r returns to the line's start, rewrite erases the rest."""
        lines = [""]
        for kind, text in self.calls:
            if kind == "rewrite":
                lines[-1] = text
            elif kind in ("write_line", "ensure_newline"):
                if kind == "ensure_newline" and not lines[-1]:
                    continue
                lines += [text, ""] if kind == "write_line" else [""]
            else:
                for piece in text.split("\n")[:-1]:
                    lines[-1] += piece
                    lines.append("")
        return "\n".join(lines)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def queue_statuses(stub: Stubber, *statuses: str) -> None:
    for status in statuses:
        response: dict[str, Any] = {
            "EndpointName": "ep",
            "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
            "EndpointConfigName": "ep",
            "EndpointStatus": status,
            "CreationTime": "2026-11-25T00:00:00Z",
            "LastModifiedTime": "2026-11-25T00:00:00Z",
        }
        if status == "Failed":
            response["FailureReason"] = "image not found"
        stub.add_response("describe_endpoint", response, {"EndpointName": "ep"})


def poll(client: Any, progress: DeployProgress, timeout: float = 1000) -> None:
    clock = FakeClock()
    wait_in_service(
        client,
        "ep",
        timeout,
        backoff=Backoff(first=10.0, factor=2.0, ceiling=40.0),
        clock=clock,
        sleep=clock.sleep,
        on_status=progress,
    )


def test_tty_rewrites_one_status_line_and_ends_it_when_in_service(stubbed: Any) -> None:
    client, stub = stubbed
    queue_statuses(stub, "Creating", "Creating", "Creating", "InService")
    terminal = FakeTerminal()
    progress = DeployProgress(terminal, tty=True, endpoint="ep", instances="ml.m5.large x 2")
    poll(client, progress)
    assert terminal.calls == [
        ("ensure_newline", ""),
        ("rewrite", "smendpoint: endpoint ep Creating after 0 s (ml.m5.large x 2)"),
        ("rewrite", "smendpoint: endpoint ep Creating after 10 s (ml.m5.large x 2)"),
        ("rewrite", "smendpoint: endpoint ep Creating after 30 s (ml.m5.large x 2)"),
        ("rewrite", "smendpoint: endpoint ep InService after 70 s (ml.m5.large x 2)"),
        ("write", "\n"),
    ]
    assert terminal.screen == "smendpoint: endpoint ep InService after 70 s (ml.m5.large x 2)\n"


def test_tty_line_is_ended_when_the_deploy_fails(stubbed: Any) -> None:
    client, stub = stubbed
    queue_statuses(stub, "Creating", "Failed")
    terminal = FakeTerminal()
    with pytest.raises(DeployError):
        poll(
            client, DeployProgress(terminal, tty=True, endpoint="ep", instances="ml.c5.xlarge x 1")
        )
    assert terminal.calls[-2:] == [
        ("rewrite", "smendpoint: endpoint ep Failed after 10 s (ml.c5.xlarge x 1)"),
        ("write", "\n"),
    ]


def test_not_a_tty_writes_plain_lines_on_change_and_every_interval(stubbed: Any) -> None:
    client, stub = stubbed
    # Polls at 0, 10, 30, 70, 110, 150 s (backoff 10, 20, 40, 40, 40).
    queue_statuses(stub, "Creating", "Creating", "Creating", "Creating", "Updating", "InService")
    terminal = FakeTerminal()
    poll(client, DeployProgress(terminal, tty=False, endpoint="ep", instances="ml.m5.large x 1"))
    assert terminal.calls == [
        ("write_line", "smendpoint: endpoint ep Creating after 0 s (ml.m5.large x 1)"),
        ("write_line", "smendpoint: endpoint ep Creating after 30 s (ml.m5.large x 1)"),
        ("write_line", "smendpoint: endpoint ep Creating after 70 s (ml.m5.large x 1)"),
        ("write_line", "smendpoint: endpoint ep Updating after 110 s (ml.m5.large x 1)"),
        ("write_line", "smendpoint: endpoint ep InService after 150 s (ml.m5.large x 1)"),
    ]
    assert "\r" not in terminal.screen


def test_timeout_leaves_the_tty_line_open_until_closed() -> None:
    terminal = FakeTerminal()
    progress = DeployProgress(terminal, tty=True, endpoint="ep")
    progress("Creating", 5.0)
    progress.close()
    progress.close()  # idempotent
    assert terminal.calls[-1] == ("write", "\n")
    assert [c for c in terminal.calls if c[0] == "write"] == [("write", "\n")]


def test_writes_go_around_pytests_output_capture() -> None:
    entered: list[str] = []

    @contextlib.contextmanager
    def uncaptured() -> Iterator[None]:
        entered.append("in")
        yield

    terminal = FakeTerminal()
    DeployProgress(terminal, tty=False, uncaptured=uncaptured)("InService", 0.2)
    assert entered == ["in"]
    assert terminal.calls == [("write_line", "smendpoint: endpoint InService after 0 s")]


def test_describe_takes_name_and_instances_from_the_deployed_plan() -> None:
    from pytest_smendpoint.aws.records import EndpointPlan

    terminal = FakeTerminal()
    progress = DeployProgress.for_reporter(None, None, "ml.m5.large x 1")
    progress.writer, progress.tty = terminal, False
    progress.describe(
        EndpointPlan("e1", "e1", "m1", instance_type="ml.g5.xlarge", instance_count=3)
    )
    progress("InService", 1.0)
    assert terminal.calls == [
        ("write_line", "smendpoint: endpoint e1 InService after 1 s (ml.g5.xlarge x 3)")
    ]


def test_no_terminal_reporter_shows_nothing() -> None:
    progress = DeployProgress.for_reporter(None, None, "ml.m5.large x 1")
    progress("Creating", 0.0)
    progress.close()
    assert progress.tty is False
