"""What one invocation carries in and out, independent of HTTP and of how the model is served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class InvokeRequest:
    """An InvokeEndpoint call as the container sees it."""

    endpoint_name: str
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None


@dataclass(frozen=True)
class InvokeResult:
    """The container's answer: body, its media type and the custom attributes it set."""

    body: bytes
    content_type: str
    custom_attributes: str | None = None


class ServedModel(Protocol):
    """A loaded model, whichever way it is served; `invoke` must be thread-safe."""

    def invoke(self, request: InvokeRequest) -> InvokeResult: ...

    def close(self) -> None: ...
