"""Wait for a SageMaker resource to leave its transitional states: poll with backoff, under a
deadline. One waiter for every kind that has statuses (resources.py's table says which key,
which status means done and which pass); `wait_in_service` is the endpoint's instance of it.

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

from pytest_smendpoint.aws.resources import ENDPOINT, ResourceKind, describe
from pytest_smendpoint.aws.signal_holding import stopping
from pytest_smendpoint.errors import AwsCallError, DeployError, SmEndpointError


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
    """A stop signal ended a wait (on a deploy thread: the signal itself went to the main
    thread). The deploy's own cleanup then deletes what it created."""

    def __init__(self, name: str, status: str, label: str = "endpoint") -> None:
        self.name = name
        super().__init__(
            f"{label} {name!r} still {status}: the session is stopping (a signal "
            "arrived), so the deploy stops waiting and deletes what it created"
        )


def wait_for(
    sagemaker: Any,
    kind: ResourceKind,
    name: str,
    timeout: float,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_status: Callable[[str, float], None] | None = None,
    timeout_option: str = "--sm-deploy-timeout",
    failed: Callable[[str, str, str], Exception] = DeployError,
) -> dict[str, Any]:
    """Return the describe response once the resource reaches its kind's success status; raise
    `failed(name, status, reason)` when it settles elsewhere (SageMaker's FailureReason) or is
    still passing at the deadline, naming `timeout_option`.

    Under moto the first describe already says done, so nothing sleeps. A stop signal
    (signal_holding.stopping) ends the wait at its next poll, or at once during a real sleep.
    """
    statuses = kind.statuses
    if statuses is None:
        raise ValueError(f"a {kind.label} has no status to wait for")
    started = clock()
    delays = backoff.delays()
    while True:
        try:
            described = describe(sagemaker, kind, name)
        except ClientError as error:
            info = error.response.get("Error", {})
            raise AwsCallError(
                kind.describe_operation,
                f"{kind.label} {name}",
                f"{info.get('Code')}: {info.get('Message')}",
            ) from None
        status = described[statuses.key]
        elapsed = clock() - started
        if on_status is not None:
            on_status(status, elapsed)
        if status == statuses.success:
            return described
        if status not in statuses.transitional:
            reason = described.get("FailureReason") or "(SageMaker gave no FailureReason)"
            raise failed(name, status, reason)
        remaining = timeout - elapsed
        if remaining <= 0:
            raise failed(
                name,
                status,
                f"still {status} after {elapsed:.0f} s ({timeout_option}={timeout:g})",
            )
        pause = min(next(delays), remaining)
        if sleep is time.sleep:
            stopping.wait(pause)  # the same pause, but a stop ends it at once
        else:
            sleep(pause)
        if stopping.is_set():
            raise WaitStopped(name, status, kind.label)


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
    """Return the describe_endpoint response once InService; raise DeployError otherwise."""
    return wait_for(
        sagemaker,
        ENDPOINT,
        endpoint_name,
        timeout,
        backoff=backoff,
        clock=clock,
        sleep=sleep,
        on_status=on_status,
    )
