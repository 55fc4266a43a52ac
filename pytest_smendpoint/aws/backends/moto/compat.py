"""Make moto's SageMaker answers look like AWS's where SDKs depend on the difference."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


class _DropEmptyDicts:
    """moto returns `VpcConfig: {}`, `DataCaptureConfig: {}` where AWS omits the key; SDK v3's
    pydantic shapes reject them (`security_group_ids Field required`). Dropping
    empty-dict values from SageMaker responses restores AWS's shape."""

    def __init__(self) -> None:
        self.active = 0
        self.lock = threading.Lock()

    def __call__(self, parsed: Any = None, **_: Any) -> None:
        if self.active and isinstance(parsed, dict):
            _drop_empty(parsed)


def _drop_empty(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if isinstance(v, dict) and not v]:
            del value[key]
        for child in value.values():
            _drop_empty(child)
    elif isinstance(value, list):
        for child in value:
            _drop_empty(child)


_HANDLER = _DropEmptyDicts()
# `after-call.sagemaker` matches every operation; a `Describe*` glob does not match (measured).
_EVENT = "after-call.sagemaker"


@contextlib.contextmanager
def sdk_v3_compatibility() -> Iterator[None]:
    """While active, every botocore session created in the process gets the fix."""
    from botocore import handlers

    with _HANDLER.lock:
        if (_EVENT, _HANDLER) not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append((_EVENT, _HANDLER))
        _HANDLER.active += 1
    try:
        yield
    finally:
        with _HANDLER.lock:
            _HANDLER.active -= 1
