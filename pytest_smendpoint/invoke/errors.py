"""The invoker's errors: a frame that cannot be sent, or an endpoint answer that cannot be used.

Kept apart from `invoke.py` so the frame checks, the CSV splitter and the response parser can
raise them without importing the invoker; `invoke.py` re-exports every one of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_smendpoint.errors import AwsCallError, SmEndpointError


def shown(label: Any) -> str:
    """repr of an index label or column name, numpy scalars shown as plain Python values."""
    return repr(label.item() if isinstance(label, np.generic) else label)


class InvokeError(SmEndpointError):
    """Base of every error sm_invoke raises; nothing is returned when one is raised."""


class InvokeArgumentError(InvokeError, ValueError):
    """An invoker option (budget, concurrency, ...) is out of range."""


class FrameError(InvokeError, ValueError):
    """The DataFrame cannot be sent as it is: labels, features, dtypes or values are wrong."""


class RowTooLargeError(FrameError):
    """One row alone encodes to more bytes than a request may carry."""

    def __init__(self, label: object, position: int, size: int, budget: int) -> None:
        self.label = label
        self.position = position
        self.size = size
        self.budget = budget
        super().__init__(
            f"row {shown(label)} (position {position}) encodes to {size:,} bytes of CSV, more than "
            f"the payload budget of {budget:,} bytes (max_payload_bytes): no request can carry it"
        )


class PredictionCountError(InvokeError):
    """The endpoint (or a transform job) answered a different number of predictions than rows
    it was sent."""

    def __init__(
        self, endpoint_name: str, rows: str, sent: int, received: int, *, what: str = "endpoint"
    ) -> None:
        self.endpoint_name = endpoint_name
        self.rows = rows
        self.sent = sent
        self.received = received
        super().__init__(
            f"{what} {endpoint_name!r} answered {received} predictions for {rows} "
            f"({sent} rows sent)"
        )


class ResponseFormatError(InvokeError):
    """The endpoint's answer cannot be read as predictions in its declared content type."""


class EndpointInvocationError(InvokeError, AwsCallError):
    """InvokeEndpoint (or InvokeEndpointAsync) failed (ModelError, throttling after retries, an
    asynchronous request's failure object, ...) for one request."""

    def __init__(
        self,
        endpoint_name: str,
        rows: str,
        code: str,
        reason: str,
        operation: str = "InvokeEndpoint",
    ) -> None:
        self.endpoint_name = endpoint_name
        self.rows = rows
        self.code = code
        AwsCallError.__init__(self, operation, f"endpoint {endpoint_name!r}, {rows}", reason)
