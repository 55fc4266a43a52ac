"""Why a deploy (or a transform job) failed, in the error itself: instance and image, and the last
lines the container wrote to CloudWatch (`/aws/sagemaker/Endpoints/{name}`,
`/aws/sagemaker/TransformJobs`), so nobody has to open the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from pytest_smendpoint.aws.records import EndpointPlan
    from pytest_smendpoint.aws.resolve import ModelSpec

LOG_LINES = 20  # enough for a traceback's tail; the error stays readable
LINE_CHARS = 300


def log_group(endpoint_name: str) -> str:
    """Where SageMaker sends an endpoint's container output."""
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


# Where SageMaker sends a transform job's output: per instance, the container's stream
# `{job name}/{instance id}` and the agent's `{job name}/{instance id}/data-log`.
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"


def last_log_lines(
    logs: Any, endpoint_name: str, lines: int = LOG_LINES, *, job_name: str | None = None
) -> list[str]:
    """The newest stream's last lines (a transform job's: its agent's data log, which says
    which object and record failed, else its first instance's), or one line saying why they
    cannot be read."""
    group = log_group(endpoint_name) if job_name is None else TRANSFORM_LOG_GROUP
    try:
        if job_name is None:
            streams = logs.describe_log_streams(
                logGroupName=group, orderBy="LastEventTime", descending=True, limit=1
            ).get("logStreams", [])
        else:  # CloudWatch orders a name prefix's streams by name only
            streams = sorted(
                logs.describe_log_streams(
                    logGroupName=group, logStreamNamePrefix=f"{job_name}/"
                ).get("logStreams", []),
                key=lambda stream: not stream["logStreamName"].endswith("data-log"),
            )
        if not streams:
            return [f"CloudWatch {group}: no log stream yet (the container never started?)"]
        stream = streams[0]["logStreamName"]
        events = logs.get_log_events(
            logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False
        ).get("events", [])
    except ClientError as error:
        info = error.response.get("Error", {})
        return [
            f"CloudWatch {group}: (logs not readable: {info.get('Code')}: {info.get('Message')})"
        ]
    except BotoCoreError as error:  # no credentials, no connection: diagnostics never fail a run
        return [f"CloudWatch {group}: (logs not readable: {type(error).__name__}: {error})"]
    shown = [f"CloudWatch {group}, stream {stream} (last {len(events)} lines):"]
    for event in events:
        text = str(event.get("message", "")).rstrip()
        shown.append("  | " + (text[:LINE_CHARS] + " ..." if len(text) > LINE_CHARS else text))
    return shown


def deploy_diagnostics(logs: Callable[[], Any]) -> Callable[[EndpointPlan, ModelSpec], str]:
    """What `Lifecycle` calls when a deploy fails or times out, before it cleans up; `logs`
    makes the CloudWatch Logs client (only then: a deploy that works never pays for it)."""

    def diagnose(plan: EndpointPlan, model: ModelSpec) -> str:
        try:
            lines = last_log_lines(logs(), plan.endpoint_name)
        except BotoCoreError as error:
            lines = [f"CloudWatch logs: (not readable: {type(error).__name__}: {error})"]
        runs_on = "endpoint" if plan.serverless is not None else "instance"
        lines.insert(0, f"{runs_on}: {plan.capacity}; image: {model.image_uri}")
        return "\n".join(lines)

    return diagnose
