"""Deleting an endpoint for real: wait out a state SageMaker refuses to delete in, then check
that it is gone.

An endpoint interrupted while Creating cannot be deleted until it turns Failed (or InService):
DeleteEndpoint answers a ValidationException meanwhile (a user report; it can last long). Teardown
waits for a deletable state within a bound instead of giving up at once, and says what it left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.resources import is_gone
from pytest_smendpoint.aws.waiting import TRANSITIONAL, Backoff

SETTLE_BACKOFF = Backoff(first=2.0, factor=1.5, ceiling=30.0)


def _status(sagemaker: Any, name: str) -> str | None:
    """The endpoint's status, or None once it no longer exists."""
    try:
        return str(sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"])
    except ClientError as error:
        if is_gone(error):
            return None
        raise


def delete_endpoint(
    sagemaker: Any,
    name: str,
    bound: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """DeleteEndpoint; if refused while Creating/Updating, wait (at most `bound` s) and retry."""
    try:
        sagemaker.delete_endpoint(EndpointName=name)
        return
    except ClientError as error:
        if is_gone(error) or error.response.get("Error", {}).get("Code") != ("ValidationException"):
            raise
        refused = error
    started = clock()
    status = _status(sagemaker, name)
    if status not in TRANSITIONAL:
        raise refused  # refused for another reason: report SageMaker's own words
    for delay in SETTLE_BACKOFF.delays():
        waited = clock() - started
        if status not in TRANSITIONAL:
            break
        if waited >= bound:
            info = refused.response.get("Error", {})
            raise ClientError(
                {
                    "Error": {
                        "Code": info.get("Code", "ValidationException"),
                        "Message": f"{info.get('Message', '')} (still {status} after "
                        f"{waited:.0f} s; SageMaker deletes it only once it turns Failed "
                        "or InService: run the command below then)",
                    }
                },
                "DeleteEndpoint",
            ) from None
        sleep(min(delay, bound - waited))
        status = _status(sagemaker, name)
    if status is not None:
        sagemaker.delete_endpoint(EndpointName=name)


def confirm_gone(sagemaker: Any, name: str) -> bool | None:
    """True when DescribeEndpoint says not found or Deleting; None when it could not be asked."""
    try:
        status = _status(sagemaker, name)
    except (ClientError, BotoCoreError):
        return None
    return status in (None, "Deleting")
