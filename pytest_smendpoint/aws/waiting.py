"""Wait for an endpoint to leave its transitional states: poll with backoff, under a deadline.

botocore's `endpoint_in_service` waiter polls at a fixed delay (30 s by default) and counts
attempts, not seconds; a deploy wants a short first poll that backs off, a deadline in seconds
and the FailureReason in the error, so this loop is written out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pytest_smendpoint.aws.signal_holding import stopping
from pytest_smendpoint.errors import AwsCallError, DeployError, SmEndpointError

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: first, growth factor and ceiling, in seconds."""

    first: float = 1.0
    factor: float = 1.5
    ceiling: float = 15.0

    def delays(self) -> Any:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.ceiling)


DEFAULT_BACKOFF = Backoff()


class WaitStopped(SmEndpointError):
    """A stop signal ended the wait for InService (on a deploy thread: the signal itself went
    to the main thread). The deploy's own cleanup then deletes what it created."""

    def __init__(self, endpoint_name: str, status: str) -> None:
        self.endpoint_name = endpoint_name
        super().__init__(
            f"endpoint {endpoint_name!r} still {status}: the session is stopping (a signal "
            "arrived), so the deploy stops waiting and deletes what it created"
        )


def wait_in_service(
    sagemaker: Any,
    endpoint_name: str,
    timeout: float,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_status: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Return the describe_endpoint response once InService; raise DeployError otherwise.

    Under moto the first describe already says InService, so nothing sleeps. A stop signal
    (signal_holding.stopping) ends the wait at its next poll, or at once during a real sleep.
    """
    started = clock()
    delays = backoff.delays()
    while True:
        try:
            described = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as error:
            info = error.response.get("Error", {})
            raise AwsCallError(
                "DescribeEndpoint",
                f"endpoint {endpoint_name}",
                f"{info.get('Code')}: {info.get('Message')}",
            ) from None
        status = described["EndpointStatus"]
        elapsed = clock() - started
        if on_status is not None:
            on_status(status, elapsed)
        if status == "InService":
            return dict(described)
        if status not in TRANSITIONAL:
            reason = described.get("FailureReason") or "(SageMaker gave no FailureReason)"
            raise DeployError(endpoint_name, status, reason)
        remaining = timeout - elapsed
        if remaining <= 0:
            raise DeployError(
                endpoint_name,
                status,
                f"still {status} after {elapsed:.0f} s (--sm-deploy-timeout={timeout:g})",
            )
        pause = min(next(delays), remaining)
        if sleep is time.sleep:
            stopping.wait(pause)  # the same pause, but a stop ends it at once
        else:
            sleep(pause)
        if stopping.is_set():
            raise WaitStopped(endpoint_name, status)
